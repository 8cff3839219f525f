//! PromptPay QR payloads (EMVCo merchant-presented mode) and their QR images.
