CREATE SCHEMA core;
COMMENT ON SCHEMA core IS 'Customers and products shared by every application';
