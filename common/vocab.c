/* vocab — the record format's closed vocabularies (see vocab.h, record-format.md). */
#include "common/vocab.h"

#include <string.h>

#include "common/cl_error.h"

static const char *const vocab_agency_types[VOCAB_NAGENCY_TYPES + 1] = {
    "police",  "municipal_police", "social_services", "child_rights", "health",	   "ngo",
    "shelter", "probation",	   "prosecutor",      "court",	      "education", NULL,
};

static const char *const vocab_event_types[VOCAB_NEVENT_TYPES + 1] = {
    "police_callout",
    "crime_report",
    "medical_injury",
    "ngo_disclosure",
    "risk_assessment",
    "child_threat_assessment",
    "referral_sent",
    "referral_received",
    "intake",
    "counselling",
    "legal_aid",
    "psychologist",
    "crisis_intervention",
    "shelter_admission",
    "shelter_exit",
    "child_welfare_case_opened",
    "protection_order_issued",
    "protection_order_breach",
    "separation_order",
    "criminal_case_opened",
    "court_decision",
    "conviction",
    "programme_enrolled",
    "programme_completed",
    "programme_dropped",
    "marac_case_review",
    NULL,
};

static const unsigned char vocab_event_cats[VOCAB_NEVENT_TYPES] = {
    [VOCAB_EV_POLICE_CALLOUT] = VOCAB_CAT_INCIDENT,
    [VOCAB_EV_CRIME_REPORT] = VOCAB_CAT_INCIDENT,
    [VOCAB_EV_MEDICAL_INJURY] = VOCAB_CAT_INCIDENT,
    [VOCAB_EV_NGO_DISCLOSURE] = VOCAB_CAT_INCIDENT,
    [VOCAB_EV_RISK_ASSESSMENT] = VOCAB_CAT_ASSESSMENT,
    [VOCAB_EV_CHILD_THREAT_ASSESSMENT] = VOCAB_CAT_ASSESSMENT,
    [VOCAB_EV_REFERRAL_SENT] = VOCAB_CAT_REFERRAL,
    [VOCAB_EV_REFERRAL_RECEIVED] = VOCAB_CAT_REFERRAL,
    [VOCAB_EV_INTAKE] = VOCAB_CAT_SUPPORT,
    [VOCAB_EV_COUNSELLING] = VOCAB_CAT_SUPPORT,
    [VOCAB_EV_LEGAL_AID] = VOCAB_CAT_SUPPORT,
    [VOCAB_EV_PSYCHOLOGIST] = VOCAB_CAT_SUPPORT,
    [VOCAB_EV_CRISIS_INTERVENTION] = VOCAB_CAT_SUPPORT,
    [VOCAB_EV_SHELTER_ADMISSION] = VOCAB_CAT_SUPPORT,
    [VOCAB_EV_SHELTER_EXIT] = VOCAB_CAT_SUPPORT,
    [VOCAB_EV_CHILD_WELFARE_CASE_OPENED] = VOCAB_CAT_SUPPORT,
    [VOCAB_EV_PROTECTION_ORDER_ISSUED] = VOCAB_CAT_PROTECTION,
    [VOCAB_EV_PROTECTION_ORDER_BREACH] = VOCAB_CAT_PROTECTION,
    [VOCAB_EV_SEPARATION_ORDER] = VOCAB_CAT_PROTECTION,
    [VOCAB_EV_CRIMINAL_CASE_OPENED] = VOCAB_CAT_JUSTICE,
    [VOCAB_EV_COURT_DECISION] = VOCAB_CAT_JUSTICE,
    [VOCAB_EV_CONVICTION] = VOCAB_CAT_JUSTICE,
    [VOCAB_EV_PROGRAMME_ENROLLED] = VOCAB_CAT_PERPETRATOR_PROGRAMME,
    [VOCAB_EV_PROGRAMME_COMPLETED] = VOCAB_CAT_PERPETRATOR_PROGRAMME,
    [VOCAB_EV_PROGRAMME_DROPPED] = VOCAB_CAT_PERPETRATOR_PROGRAMME,
    [VOCAB_EV_MARAC_CASE_REVIEW] = VOCAB_CAT_MULTI_AGENCY,
};

static const char *const vocab_categories[VOCAB_NCATEGORIES + 1] = {
    "incident",
    "assessment",
    "referral",
    "support",
    "protection",
    "justice",
    "perpetrator_programme",
    "multi_agency",
    NULL,
};

static const char *const vocab_roles[VOCAB_NROLES + 1] = {"victim", "perpetrator", "child", NULL};
static const char *const vocab_relationships[] = {
    "partner", "ex_partner", "parent", "child", "sibling", "other_family", "other", NULL,
};
static const char *const vocab_forms[] = {"physical", "psychological", "sexual", "economic", NULL};
static const char *const vocab_risk_levels[VOCAB_NRISK_LEVELS + 1] = {"none", "standard", "medium",
								      "high", NULL};
static const char *const vocab_instruments[] = {"police_ra", "marac", "other", NULL};
static const char *const vocab_sexes[] = {"F", "M", "X", "U", NULL};
static const char *const vocab_sharing[] = {"allowed", "restricted", NULL};

#define VOCAB_LEN(a) (sizeof(a) / sizeof((a)[0]) - 1)

static const struct {
	const char *const *names;
	size_t n;
} vocab_lists[VOCAB_NLISTS] = {
    [VOCAB_AGENCY_TYPE] = {vocab_agency_types, VOCAB_LEN(vocab_agency_types)},
    [VOCAB_EVENT_TYPE] = {vocab_event_types, VOCAB_LEN(vocab_event_types)},
    [VOCAB_CATEGORY] = {vocab_categories, VOCAB_LEN(vocab_categories)},
    [VOCAB_ROLE] = {vocab_roles, VOCAB_LEN(vocab_roles)},
    [VOCAB_RELATIONSHIP] = {vocab_relationships, VOCAB_LEN(vocab_relationships)},
    [VOCAB_VIOLENCE_FORM] = {vocab_forms, VOCAB_LEN(vocab_forms)},
    [VOCAB_RISK_LEVEL] = {vocab_risk_levels, VOCAB_LEN(vocab_risk_levels)},
    [VOCAB_RISK_INSTRUMENT] = {vocab_instruments, VOCAB_LEN(vocab_instruments)},
    [VOCAB_SEX] = {vocab_sexes, VOCAB_LEN(vocab_sexes)},
    [VOCAB_SHARING] = {vocab_sharing, VOCAB_LEN(vocab_sharing)},
};

size_t vocab_count(enum vocab_list list)
{
	return (unsigned)list < VOCAB_NLISTS ? vocab_lists[list].n : 0;
}

const char *const *vocab_names(enum vocab_list list)
{
	return (unsigned)list < VOCAB_NLISTS ? vocab_lists[list].names : NULL;
}

const char *vocab_name(enum vocab_list list, size_t index)
{
	if ((unsigned)list >= VOCAB_NLISTS || index >= vocab_lists[list].n)
		return NULL;
	return vocab_lists[list].names[index];
}

int vocab_index_n(enum vocab_list list, const char *s, size_t len)
{
	const char *const *names;
	size_t i;

	if ((unsigned)list >= VOCAB_NLISTS || !s)
		return CL_EINVAL;
	names = vocab_lists[list].names;
	for (i = 0; names[i]; i++)
		if (strlen(names[i]) == len && memcmp(names[i], s, len) == 0)
			return (int)i;
	return CL_ENOTFOUND;
}

int vocab_index(enum vocab_list list, const char *name)
{
	const char *const *names;
	size_t i;

	if ((unsigned)list >= VOCAB_NLISTS || !name)
		return CL_EINVAL;
	names = vocab_lists[list].names;
	for (i = 0; names[i]; i++)
		if (strcmp(names[i], name) == 0)
			return (int)i;
	return CL_ENOTFOUND;
}

int vocab_event_category(size_t event_type)
{
	if (event_type >= VOCAB_NEVENT_TYPES)
		return CL_EINVAL;
	return vocab_event_cats[event_type];
}
