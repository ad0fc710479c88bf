/* synth_names — municipality and name tables for the synthetic federation. */
#include "tools/synth_names.h"

#include <string.h>
#include <strings.h>

#include "common/cl_error.h"

struct synth_muni {
	const char *id, *name, *country;
	unsigned weight;
};

/* Weights roughly follow population (thousands / 10). */
static const struct synth_muni synth_munis[] = {
    {"liepaja", "Liepāja", "LV", 7},
    {"klaipeda", "Klaipėda", "LT", 15},
    {"tukums", "Tukums", "LV", 3},
    {"riga", "Rīga", "LV", 60},
    {"daugavpils", "Daugavpils", "LV", 8},
    {"jelgava", "Jelgava", "LV", 6},
    {"ventspils", "Ventspils", "LV", 3},
    {"jurmala", "Jūrmala", "LV", 5},
    {"valmiera", "Valmiera", "LV", 5},
    {"cesis", "Cēsis", "LV", 4},
    {"saldus", "Saldus", "LV", 3},
    {"dobele", "Dobele", "LV", 3},
    {"balvi", "Balvi", "LV", 2},
    {"rezekne", "Rēzekne", "LV", 3},
    {"ogre", "Ogre", "LV", 5},
    {"kuldiga", "Kuldīga", "LV", 3},
    {"talsi", "Talsi", "LV", 3},
    {"vilnius", "Vilnius", "LT", 55},
    {"kaunas", "Kaunas", "LT", 30},
    {"siauliai", "Šiauliai", "LT", 10},
    {"panevezys", "Panevėžys", "LT", 9},
    {"alytus", "Alytus", "LT", 5},
    {"marijampole", "Marijampolė", "LT", 5},
    {"palanga", "Palanga", "LT", 2},
    {"telsiai", "Telšiai", "LT", 4},
    {"taurage", "Tauragė", "LT", 4},
    {"utena", "Utena", "LT", 4},
    {"kretinga", "Kretinga", "LT", 4},
    /* The rest of Latvia's 43 and Lithuania's 60 municipalities (appended: earlier indices
     * and outputs unchanged). */
    {"aizkraukle", "Aizkraukle", "LV", 3},
    {"aluksne", "Alūksne", "LV", 1},
    {"augsdaugava", "Augšdaugava", "LV", 2},
    {"adazi", "Ādaži", "LV", 2},
    {"bauska", "Bauska", "LV", 4},
    {"dienvidkurzeme", "Dienvidkurzeme", "LV", 3},
    {"gulbene", "Gulbene", "LV", 2},
    {"jelgavas-novads", "Jelgavas novads", "LV", 3},
    {"jekabpils", "Jēkabpils", "LV", 4},
    {"kraslava", "Krāslava", "LV", 2},
    {"kekava", "Ķekava", "LV", 3},
    {"limbazi", "Limbaži", "LV", 3},
    {"livani", "Līvāni", "LV", 1},
    {"ludza", "Ludza", "LV", 2},
    {"madona", "Madona", "LV", 3},
    {"marupe", "Mārupe", "LV", 3},
    {"olaine", "Olaine", "LV", 2},
    {"preili", "Preiļi", "LV", 2},
    {"rezeknes-novads", "Rēzeknes novads", "LV", 3},
    {"ropazi", "Ropaži", "LV", 2},
    {"salaspils", "Salaspils", "LV", 2},
    {"saulkrasti", "Saulkrasti", "LV", 1},
    {"sigulda", "Sigulda", "LV", 3},
    {"smiltene", "Smiltene", "LV", 2},
    {"valka", "Valka", "LV", 1},
    {"varaklani", "Varakļāni", "LV", 1},
    {"ventspils-novads", "Ventspils novads", "LV", 1},
    {"alytaus-rajonas", "Alytaus rajonas", "LT", 5},
    {"druskininkai", "Druskininkai", "LT", 2},
    {"lazdijai", "Lazdijai", "LT", 2},
    {"varena", "Varėna", "LT", 2},
    {"kauno-rajonas", "Kauno rajonas", "LT", 10},
    {"birstonas", "Birštonas", "LT", 1},
    {"jonava", "Jonava", "LT", 4},
    {"kaisiadorys", "Kaišiadorys", "LT", 3},
    {"kedainiai", "Kėdainiai", "LT", 5},
    {"prienai", "Prienai", "LT", 2},
    {"raseiniai", "Raseiniai", "LT", 3},
    {"klaipedos-rajonas", "Klaipėdos rajonas", "LT", 6},
    {"neringa", "Neringa", "LT", 1},
    {"skuodas", "Skuodas", "LT", 2},
    {"silute", "Šilutė", "LT", 4},
    {"kalvarija", "Kalvarija", "LT", 1},
    {"kazlu-ruda", "Kazlų Rūda", "LT", 1},
    {"sakiai", "Šakiai", "LT", 2},
    {"vilkaviskis", "Vilkaviškis", "LT", 3},
    {"panevezio-rajonas", "Panevėžio rajonas", "LT", 3},
    {"birzai", "Biržai", "LT", 2},
    {"kupiskis", "Kupiškis", "LT", 2},
    {"pasvalys", "Pasvalys", "LT", 2},
    {"rokiskis", "Rokiškis", "LT", 3},
    {"siauliu-rajonas", "Šiaulių rajonas", "LT", 4},
    {"akmene", "Akmenė", "LT", 2},
    {"joniskis", "Joniškis", "LT", 2},
    {"kelme", "Kelmė", "LT", 3},
    {"pakruojis", "Pakruojis", "LT", 2},
    {"radviliskis", "Radviliškis", "LT", 3},
    {"jurbarkas", "Jurbarkas", "LT", 2},
    {"pagegiai", "Pagėgiai", "LT", 1},
    {"silale", "Šilalė", "LT", 2},
    {"mazeikiai", "Mažeikiai", "LT", 5},
    {"plunge", "Plungė", "LT", 3},
    {"rietavas", "Rietavas", "LT", 1},
    {"anyksciai", "Anykščiai", "LT", 2},
    {"ignalina", "Ignalina", "LT", 1},
    {"moletai", "Molėtai", "LT", 2},
    {"zarasai", "Zarasai", "LT", 1},
    {"visaginas", "Visaginas", "LT", 2},
    {"vilniaus-rajonas", "Vilniaus rajonas", "LT", 10},
    {"elektrenai", "Elektrėnai", "LT", 2},
    {"salcininkai", "Šalčininkai", "LT", 3},
    {"sirvintos", "Širvintos", "LT", 1},
    {"svencionys", "Švenčionys", "LT", 2},
    {"trakai", "Trakai", "LT", 3},
    {"ukmerge", "Ukmergė", "LT", 3},
};

static const char *const synth_lv_f[] = {
    "Anna",    "Marija", "Kristīne", "Inese", "Ilze",	"Līga", "Laura",  "Elīna",
    "Sandra",  "Dace",	 "Ieva",     "Santa", "Agnese", "Zane", "Evija",  "Anete",
    "Sintija", "Alise",	 "Madara",   "Rūta",  "Gunta",	"Olga", "Jeļena", "Svetlana",
};
static const char *const synth_lv_m[] = {
    "Jānis",  "Andris",	  "Edgars",  "Māris",	   "Aivars", "Mārtiņš",	 "Kārlis", "Roberts",
    "Artūrs", "Dmitrijs", "Sergejs", "Aleksandrs", "Gints",  "Raimonds", "Uldis",  "Guntis",
    "Dāvis",  "Kristaps", "Ņikita",  "Oskars",	   "Valdis", "Ivars",	 "Reinis", "Emīls",
};
static const char *const synth_lt_f[] = {
    "Ona",     "Rūta",	 "Jurgita", "Kristina", "Inga",	   "Laura",  "Agnė",	"Eglė",
    "Greta",   "Ieva",	 "Gabija",  "Austėja",	"Rasa",	   "Vilma",  "Jolanta", "Aušra",
    "Neringa", "Simona", "Živilė",  "Dalia",	"Emilija", "Kamilė", "Urtė",	"Lina",
};
static const char *const synth_lt_m[] = {
    "Jonas",	"Tomas",   "Mindaugas", "Darius",  "Andrius",  "Paulius", "Marius",   "Vytautas",
    "Giedrius", "Saulius", "Žydrūnas",	"Rokas",   "Lukas",    "Matas",	  "Kęstutis", "Audrius",
    "Arūnas",	"Šarūnas", "Povilas",	"Dovydas", "Algirdas", "Nerijus", "Gintaras", "Ignas",
};

/* Latvian family names: male, female. */
static const char *const synth_lv_family[][2] = {
    {"Bērziņš", "Bērziņa"},	  {"Kalniņš", "Kalniņa"},     {"Ozols", "Ozola"},
    {"Jansons", "Jansone"},	  {"Ozoliņš", "Ozoliņa"},     {"Liepiņš", "Liepiņa"},
    {"Krūmiņš", "Krūmiņa"},	  {"Balodis", "Balode"},      {"Eglītis", "Eglīte"},
    {"Zariņš", "Zariņa"},	  {"Pētersons", "Pētersone"}, {"Vītols", "Vītola"},
    {"Kļaviņš", "Kļaviņa"},	  {"Kārkliņš", "Kārkliņa"},   {"Vanags", "Vanaga"},
    {"Siliņš", "Siliņa"},	  {"Lapiņš", "Lapiņa"},	      {"Grīnbergs", "Grīnberga"},
    {"Dūmiņš", "Dūmiņa"},	  {"Šmits", "Šmite"},	      {"Ivanovs", "Ivanova"},
    {"Kuzņecovs", "Kuzņecova"},	  {"Jakovļevs", "Jakovļeva"}, {"Sproģis", "Sproģe"},
    {"Rozenbergs", "Rozenberga"}, {"Zvirbulis", "Zvirbule"},  {"Āboliņš", "Āboliņa"},
    {"Mednis", "Medne"},	  {"Strazdiņš", "Strazdiņa"}, {"Priede", "Priede"},
};

/* Lithuanian family names: male, married female, unmarried female. */
static const char *const synth_lt_family[][3] = {
    {"Kazlauskas", "Kazlauskienė", "Kazlauskaitė"},
    {"Jankauskas", "Jankauskienė", "Jankauskaitė"},
    {"Petrauskas", "Petrauskienė", "Petrauskaitė"},
    {"Stankevičius", "Stankevičienė", "Stankevičiūtė"},
    {"Vasiliauskas", "Vasiliauskienė", "Vasiliauskaitė"},
    {"Žukauskas", "Žukauskienė", "Žukauskaitė"},
    {"Butkus", "Butkienė", "Butkutė"},
    {"Paulauskas", "Paulauskienė", "Paulauskaitė"},
    {"Urbonas", "Urbonienė", "Urbonaitė"},
    {"Kavaliauskas", "Kavaliauskienė", "Kavaliauskaitė"},
    {"Navickas", "Navickienė", "Navickaitė"},
    {"Ramanauskas", "Ramanauskienė", "Ramanauskaitė"},
    {"Savickas", "Savickienė", "Savickaitė"},
    {"Rimkus", "Rimkienė", "Rimkutė"},
    {"Šimkus", "Šimkienė", "Šimkutė"},
    {"Balčiūnas", "Balčiūnienė", "Balčiūnaitė"},
    {"Žilinskas", "Žilinskienė", "Žilinskaitė"},
    {"Adomaitis", "Adomaitienė", "Adomaitytė"},
    {"Mockus", "Mockienė", "Mockutė"},
    {"Lukoševičius", "Lukoševičienė", "Lukoševičiūtė"},
    {"Kairys", "Kairienė", "Kairytė"},
    {"Vaitkus", "Vaitkienė", "Vaitkutė"},
    {"Jonaitis", "Jonaitienė", "Jonaitytė"},
    {"Pocius", "Pocienė", "Pociūtė"},
};

#define SYNTH_N(a) (sizeof(a) / sizeof((a)[0]))

size_t synth_names_muni_count(void)
{
	return SYNTH_N(synth_munis);
}

int synth_names_muni(size_t i, const char **id, const char **name, const char **country,
		     unsigned *weight)
{
	if (i >= SYNTH_N(synth_munis))
		return CL_EINVAL;
	if (id)
		*id = synth_munis[i].id;
	if (name)
		*name = synth_munis[i].name;
	if (country)
		*country = synth_munis[i].country;
	if (weight)
		*weight = synth_munis[i].weight;
	return 0;
}

int synth_names_muni_find(const char *key, size_t *index)
{
	size_t i;

	for (i = 0; i < SYNTH_N(synth_munis); i++) {
		if (!strcasecmp(key, synth_munis[i].id) || !strcasecmp(key, synth_munis[i].name)) {
			*index = i;
			return 0;
		}
	}
	return CL_ENOTFOUND;
}

size_t synth_names_given_count(const char *country, char sex)
{
	int lv = !strcmp(country, "LV");

	if (!lv && strcmp(country, "LT"))
		return 0;
	if (sex == 'F')
		return lv ? SYNTH_N(synth_lv_f) : SYNTH_N(synth_lt_f);
	if (sex == 'M')
		return lv ? SYNTH_N(synth_lv_m) : SYNTH_N(synth_lt_m);
	return 0;
}

const char *synth_names_given(const char *country, char sex, size_t i)
{
	int lv = !strcmp(country, "LV");

	if (i >= synth_names_given_count(country, sex))
		return NULL;
	if (sex == 'F')
		return lv ? synth_lv_f[i] : synth_lt_f[i];
	return lv ? synth_lv_m[i] : synth_lt_m[i];
}

size_t synth_names_family_count(const char *country)
{
	if (!strcmp(country, "LV"))
		return SYNTH_N(synth_lv_family);
	if (!strcmp(country, "LT"))
		return SYNTH_N(synth_lt_family);
	return 0;
}

const char *synth_names_family(const char *country, size_t i, char form)
{
	if (i >= synth_names_family_count(country))
		return NULL;
	if (!strcmp(country, "LV"))
		return synth_lv_family[i][form == 'M' ? 0 : 1];
	return synth_lt_family[i][form == 'M' ? 0 : form == 'F' ? 1 : 2];
}
