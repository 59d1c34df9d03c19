CREATE TYPE core.customer_status AS ENUM ('prospect', 'active', 'suspended', 'closed');
