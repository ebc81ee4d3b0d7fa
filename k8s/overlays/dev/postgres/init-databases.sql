-- One database per service, owned by POSTGRES_USER (who runs this script).
CREATE DATABASE support_entitlements;
CREATE DATABASE support_tickets;
CREATE DATABASE support_billing;
