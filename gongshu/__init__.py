"""公数 Gongshu — a city public-data platform."""
