"""Sending accepted clips to an agency: a tus 1.0 client over a deadline-enforcing transport."""
