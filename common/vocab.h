/*
 * vocab — the closed vocabularies of the record format (record-format.md): agency types, event
 * types and their categories, roles, relationships, violence forms, risk levels, risk
 * instruments, sex codes and sharing values, each in the order the specification lists it.
 * The enums below are indexes into those lists. (tools/truth.c keeps its own copy on purpose:
 * it is the independent ground-truth engine the measures are checked against.)
 */
#ifndef CASELINK_VOCAB_H
#define CASELINK_VOCAB_H

#include <stddef.h>

enum vocab_list {
	VOCAB_AGENCY_TYPE,
	VOCAB_EVENT_TYPE,
	VOCAB_CATEGORY,
	VOCAB_ROLE,
	VOCAB_RELATIONSHIP,
	VOCAB_VIOLENCE_FORM,
	VOCAB_RISK_LEVEL,
	VOCAB_RISK_INSTRUMENT,
	VOCAB_SEX,
	VOCAB_SHARING,
	VOCAB_NLISTS
};

enum vocab_agency_type {
	VOCAB_AG_POLICE,
	VOCAB_AG_MUNICIPAL_POLICE,
	VOCAB_AG_SOCIAL_SERVICES,
	VOCAB_AG_CHILD_RIGHTS,
	VOCAB_AG_HEALTH,
	VOCAB_AG_NGO,
	VOCAB_AG_SHELTER,
	VOCAB_AG_PROBATION,
	VOCAB_AG_PROSECUTOR,
	VOCAB_AG_COURT,
	VOCAB_AG_EDUCATION,
	VOCAB_NAGENCY_TYPES
};

enum vocab_event_type {
	VOCAB_EV_POLICE_CALLOUT,
	VOCAB_EV_CRIME_REPORT,
	VOCAB_EV_MEDICAL_INJURY,
	VOCAB_EV_NGO_DISCLOSURE,
	VOCAB_EV_RISK_ASSESSMENT,
	VOCAB_EV_CHILD_THREAT_ASSESSMENT,
	VOCAB_EV_REFERRAL_SENT,
	VOCAB_EV_REFERRAL_RECEIVED,
	VOCAB_EV_INTAKE, /* first support type */
	VOCAB_EV_COUNSELLING,
	VOCAB_EV_LEGAL_AID,
	VOCAB_EV_PSYCHOLOGIST,
	VOCAB_EV_CRISIS_INTERVENTION,
	VOCAB_EV_SHELTER_ADMISSION,
	VOCAB_EV_SHELTER_EXIT,
	VOCAB_EV_CHILD_WELFARE_CASE_OPENED, /* last support type */
	VOCAB_EV_PROTECTION_ORDER_ISSUED,
	VOCAB_EV_PROTECTION_ORDER_BREACH,
	VOCAB_EV_SEPARATION_ORDER,
	VOCAB_EV_CRIMINAL_CASE_OPENED,
	VOCAB_EV_COURT_DECISION,
	VOCAB_EV_CONVICTION,
	VOCAB_EV_PROGRAMME_ENROLLED,
	VOCAB_EV_PROGRAMME_COMPLETED,
	VOCAB_EV_PROGRAMME_DROPPED,
	VOCAB_EV_MARAC_CASE_REVIEW,
	VOCAB_NEVENT_TYPES
};

/* Event categories; names as stored ("perpetrator_programme", "multi_agency"). */
enum vocab_category {
	VOCAB_CAT_INCIDENT,
	VOCAB_CAT_ASSESSMENT,
	VOCAB_CAT_REFERRAL,
	VOCAB_CAT_SUPPORT,
	VOCAB_CAT_PROTECTION,
	VOCAB_CAT_JUSTICE,
	VOCAB_CAT_PERPETRATOR_PROGRAMME,
	VOCAB_CAT_MULTI_AGENCY,
	VOCAB_NCATEGORIES
};

enum vocab_role { VOCAB_ROLE_VICTIM, VOCAB_ROLE_PERPETRATOR, VOCAB_ROLE_CHILD, VOCAB_NROLES };

enum vocab_risk_level {
	VOCAB_RISK_NONE,
	VOCAB_RISK_STANDARD,
	VOCAB_RISK_MEDIUM,
	VOCAB_RISK_HIGH,
	VOCAB_NRISK_LEVELS
};

/* Returns the number of values of a list, 0 for an unknown list. */
size_t vocab_count(enum vocab_list list);

/* Returns the values of a list in order, followed by NULL; NULL for an unknown list. */
const char *const *vocab_names(enum vocab_list list);

/* Returns the value at index of a list, or NULL when list or index is out of range. */
const char *vocab_name(enum vocab_list list, size_t index);

/* Returns the index of name (exact match) in a list, CL_ENOTFOUND, or CL_EINVAL for NULL. */
int vocab_index(enum vocab_list list, const char *name);

/* Like vocab_index for the len bytes at s (not NUL-terminated). */
int vocab_index_n(enum vocab_list list, const char *s, size_t len);

/* Returns the category (enum vocab_category) of an event type index, or CL_EINVAL. */
int vocab_event_category(size_t event_type);

#endif
