"""What generated rows must meet: conditions (values or ranges) and business rules."""
