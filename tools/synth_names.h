/*
 * synth_names — the tables behind `caselink synth`: Latvian and Lithuanian
 * municipalities (real names with diacritics, ASCII ids), given names and
 * family names with their gendered forms.
 */
#ifndef CASELINK_SYNTH_NAMES_H
#define CASELINK_SYNTH_NAMES_H

#include <stddef.h>

/* Number of municipalities in the table. */
size_t synth_names_muni_count(void);

/*
 * Describes municipality i (< synth_names_muni_count()): ASCII id ("liepaja"),
 * name ("Liepāja"), country ("LV"/"LT") and a relative population weight.
 * Returns 0, or CL_EINVAL when i is out of range.
 */
int synth_names_muni(size_t i, const char **id, const char **name, const char **country,
		     unsigned *weight);

/*
 * Finds a municipality by ASCII id or exact name (ASCII case-insensitive);
 * returns 0 and writes *index, or CL_ENOTFOUND.
 */
int synth_names_muni_find(const char *key, size_t *index);

/* Number of given names for country ("LV"/"LT") and sex ('F'/'M'); 0 for others. */
size_t synth_names_given_count(const char *country, char sex);

/* Given name i for country and sex; NULL when out of range. */
const char *synth_names_given(const char *country, char sex, size_t i);

/* Number of family names for a country. */
size_t synth_names_family_count(const char *country);

/*
 * Family name i for country in its form: 'M' male, 'F' female (Latvian female;
 * Lithuanian married -ienė), 'G' Lithuanian unmarried female (-aitė, -ytė,
 * -utė, -ūtė; Latvian: same as 'F'). NULL when out of range.
 */
const char *synth_names_family(const char *country, size_t i, char form);

#endif
