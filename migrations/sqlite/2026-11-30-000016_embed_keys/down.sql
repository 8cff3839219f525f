DROP TABLE embed_keys;
