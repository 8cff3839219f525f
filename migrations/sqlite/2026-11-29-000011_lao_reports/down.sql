DROP TABLE lao_reports;
