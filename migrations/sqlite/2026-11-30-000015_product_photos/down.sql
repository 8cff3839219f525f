DROP TABLE photo_files;
DROP TABLE product_photos;
