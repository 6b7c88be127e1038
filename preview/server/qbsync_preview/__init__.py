"""The QB Setup tab preview's server: the LWC bundle, SLDS, and twins of the package's Apex."""
