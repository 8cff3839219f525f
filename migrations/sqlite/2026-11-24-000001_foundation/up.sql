-- Small named values the service keeps for itself (dataset versions, generated secrets, the demo marker).
CREATE TABLE app_settings (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
