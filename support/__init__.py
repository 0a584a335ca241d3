"""What the template's tests and its benchmark share: rendering the template, the real
servers the variants run against, and running rendered services as processes."""
