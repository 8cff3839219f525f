DROP TABLE sale_area_people;
DROP TABLE sale_area_totals;
