"""Care: institutions, visits, their fee lines and settlements as the platform records them."""
