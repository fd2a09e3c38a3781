"""A product module with a syntax error (imported lazily by one test)."""

def discount_for(customer)
    return 0
