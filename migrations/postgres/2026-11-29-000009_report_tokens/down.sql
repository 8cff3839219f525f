DROP TABLE report_tokens;
