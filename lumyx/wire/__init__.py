"""The two wire formats: what a valid request looks like, checked cheaply."""
