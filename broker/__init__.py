"""citycontext broker: the NGSI-LD context broker of the urban data platform (ETSI GS CIM 009 v1.9.1)."""

__version__ = "0.1.0"
NGSI_LD_SPEC_VERSION = "1.9.1"

__all__ = ["__version__", "NGSI_LD_SPEC_VERSION"]
