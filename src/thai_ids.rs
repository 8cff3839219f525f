//! Thai identifiers: citizen ids (13 digits with a check digit) and PromptPay ids.
