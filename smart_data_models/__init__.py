# SPDX-License-Identifier: EUPL-1.2
"""FIWARE Smart Data Models for the city's entities: shipped schemas, examples and @contexts,
validation of NGSI-LD entities against them, and the broker's optional write validation.

    from smart_data_models import validate
    for issue in validate(entity):          # normalized, concise, keyValues or expanded
        print(issue)                        # "availableSpotNumber: -3 is less than the minimum of 0"

The files come from github.com/smart-data-models (CC-BY-4.0) and two city-defined models
(TrafficSignal, ParticipationProject; EUPL-1.2); see ATTRIBUTION.md. Nothing is fetched at run
time. The Hamm demo dataset and its loader are in smart_data_models.demo.
"""

from smart_data_models.catalog import CITY_SUBJECT, Model, UnknownModel, model, models, subject_context
from smart_data_models.validation import ValidationIssue, Validator, model_of, validate
from smart_data_models.write_validation import WriteValidation

__all__ = [
    "CITY_SUBJECT",
    "Model",
    "UnknownModel",
    "ValidationIssue",
    "Validator",
    "WriteValidation",
    "model",
    "model_of",
    "models",
    "subject_context",
    "validate",
]
