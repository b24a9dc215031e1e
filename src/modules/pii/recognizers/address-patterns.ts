/** Street-address shapes in several languages; every quantifier is bounded. */

const W = "\\p{Lu}[\\p{L}'’.-]{0,24}";
const w = "[\\p{L}][\\p{L}'’.-]{0,24}";
const NUM = '\\d{1,5}[A-Za-z]?(?:[-/]\\d{1,4})?';
const EN_SUFFIX =
  'Street|St|Road|Rd|Avenue|Ave|Av|Lane|Ln|Drive|Dr|Boulevard|Blvd|Way|Court|Ct|Place|Pl|Crescent|Cres|Terrace|Tce|Close|Square|Sq|' +
  'Parkway|Pkwy|Highway|Hwy|Circle|Cir|Trail|Trl|Row|Walk|Gardens|Grove|Mews|Hill|Points?|Green|Park|View|Heights|Loop|Ridge|' +
  'Run|Pass|Path|Pike|Alley|Plaza|Crossing|Estates?|Meadows?|Junction|Manor|Mall|Rise|Vale|Wharf|Quay|Parade|Esplanade|Broadway|Expressway|Freeway|' +
  // Further USPS street suffixes (Publication 28), singular or plural.
  '(?:Bay|Beach|Bend|Bluff|Bottom|Branch|Brook|Burg|Bypass|Camp|Canyon|Cape|Causeway|Center|Cliff|Club|Common|Corner|Course|Cove|Creek|Crest|' +
  'Curve|Dale|Dam|Divide|Extension|Fall|Field|Flat|Ford|Forest|Forge|Fork|Fort|Garden|Gateway|Glen|Harbor|Haven|Hollow|Inlet|Island|Isle|Key|Knoll|' +
  'Lake|Landing|Light|Lock|Lodge|Mill|Mission|Motorway|Mount|Mountain|Neck|Orchard|Oval|Overpass|Pine|Plain|Port|Prairie|Radial|Ramp|Ranch|Rapid|' +
  'Rest|Route|Shoal|Shore|Skyway|Spring|Spur|Station|Stravenue|Stream|Summit|Throughway|Trace|Track|Trafficway|Tunnel|Turnpike|Underpass|Union|' +
  'Valley|Viaduct|Village|Ville|Vista|Well|Drive|Court|Way|Street|Road|Hill|Paddock|River|Park|Land|Croft)s?';
const COMPOUND = '(?:straße|strasse|str\\.|-Str\\.|-Straße|weg|gasse|platz|allee|ring|damm|ufer|chaussee|gracht|straat|laan|plein|singel|vägen|gatan|gata|gade|vej|veien|veg|katu|tie|kuja|utca|útja|út|tér|ulica|cesta)';
const PREFIX =
  'Rue|Avenue|Av\\.|Boulevard|Bd|Place|Chemin|Allée|Impasse|Quai|Route|Calle|C/|Avenida|Avda\\.|Av\\.|Plaza|Paseo|Carrer|Camino|Carretera|Ronda|' +
  'Via|Viale|Piazza|Piazzale|Corso|Largo|Rua|Travessa|Praça|Estrada|ul\\.|Ulica|Aleja|Am|An der|Auf der|Im|In der|Strada|Calea|Trg|Ulitsa';
const FR_NUM_PREFIX = '(?:[Rr]ue|[Aa]venue|[Bb]oulevard|bd|[Pp]lace|[Cc]hemin|[Aa]llée|[Ii]mpasse|[Qq]uai|[Rr]oute|[Cc]ours)';


/**
 * Shapes that start with the house number; matched sticky at a digit that follows no letter or
 * digit (the caller checks that), so no leading lookbehind is needed.
 */
export const ADDRESS_NUM_FIRST_RE = new RegExp(
  [
    `${NUM} (?:${W} ){0,4}(?:${EN_SUFFIX})\\.?(?![\\p{L}])`,
    `${NUM}(?: bis| ter)?,? ${FR_NUM_PREFIX} (?:${w} ){0,5}${w}`,
  ].join('|'),
  'uy',
);

/**
 * Shapes that end with the house number: run on a short window that ends just after a number,
 * sticky where a match can start (a digit, a capital or the "u" of "ul.", after no letter or digit).
 */
export const ADDRESS_NUM_LAST_RE = new RegExp(
  [
    `(?<![\\p{L}\\d])(?:${NUM} )?(?:${W} ){0,3}\\p{Lu}[\\p{L}-]{0,24}${COMPOUND} ${NUM}(?![\\p{L}\\d])`,
    `(?<![\\p{L}\\d])(?:${NUM},? )?(?:${PREFIX}) (?:${w} ){0,5}${w},? ${NUM}(?![\\p{L}\\d])`,
    `(?<![\\p{L}\\d])(?:${W} ){1,3}(?:Str\\.|Straße|Strasse|Weg|Platz|Allee|Gasse|Ring|Damm) ${NUM}(?![\\p{L}\\d])`,
  ].join('|'),
  'uy',
);

/** The word right before a house number that may end a NUM_LAST shape ("Hauptstraße", "Str."). */
export const STREET_WORD_END_RE = new RegExp(`(?:${COMPOUND}|Str\\.|Straße|Strasse|Weg|Platz|Allee|Gasse|Ring|Damm)$`, 'u');
/** First words of the street prefixes ("Rue", "Calle", "An"): one may precede the number by a few words. */
export const STREET_PREFIX_WORDS: ReadonlySet<string> = new Set(PREFIX.replace(/\\/g, '').split('|').map((p) => p.split(' ')[0] ?? p));

/** Military and post-office boxes: they start with a keyword, so a global scan is cheap. */
export const ADDRESS_BOX_RE = new RegExp(
  [
    `(?<![\\p{L}\\d])(?:PSC|Psc|psc|Unit|unit|USNS|USNV|USS|USCGC) \\d{1,5},? (?:Box|box) \\d{1,5}(?:,? ?\\n? ?(?:APO|FPO|DPO|apo|fpo|dpo) (?:AA|AE|AP|aa|ae|ap) \\d{5})?`,
    `(?<![\\p{L}\\d])(?:P\\.? ?O\\.? Box|PO box|Postfach|Apartado(?: de correos)?|BP) \\d{1,6}`,
  ].join('|'),
  'gu',
);

/** A weaker shape, "12 Word Word 34", that counts only with address context (sticky at a number). */
export const ADDRESS_LOOSE_RE = new RegExp(`${NUM} (?:${W} ){0,3}${W} ${NUM}(?![\\p{L}\\d])`, 'uy');

/** Pieces that may follow a street: unit, post code and city, state and ZIP, country. */
export const UNIT_RE = /^[ ,]{0,3}(?:Apt\.?|Apartment|Suite|Ste\.?|Unit|Flat|Floor|Fl\.|Room|Wohnung|Whg\.?|Étage|Piso|Puerta|Bte|Box) ?#?\d{1,5}[A-Za-z]?/iu;
export const CITY_LINE_RE = new RegExp(
  `^(?:[ ,]{0,3}\\n)?[ \\t>?]{0,6}[, ]{0,2}(?:(?:\\d{4,5}|[A-Z]{1,2}\\d[A-Z\\d]? \\d[A-Z]{2}|[A-Z]\\d[A-Z] \\d[A-Z]\\d|\\d{2}-\\d{3}) )?` +
    `(?:${W}(?: ${w}){0,3})?(?:,? (?:\\p{Lu}{2,3}|\\p{Lu}{2}-\\p{Lu}{2}))?(?:,? ?\\(?${W}\\)?(?: ${W}){0,2})?(?:,? (?:\\d{4,6}(?:-\\d{4})?|[A-Z]{1,2}\\d[A-Z\\d]? \\d[A-Z]{2}|[A-Z]\\d[A-Z] \\d[A-Z]\\d))?[ \\t]*(?=\\s|$|[.;!?,)])`,
  'u',
);
