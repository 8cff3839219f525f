DROP TABLE content_links;
