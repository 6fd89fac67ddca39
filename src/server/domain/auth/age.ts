/**
 * Minimum age (privacy policy section 6): 13, or 16 in the EEA and the UK.
 * EEA = the 27 EU member states + Iceland, Liechtenstein, Norway.
 */
export const EEA_AND_UK = new Set([
  'AT',
  'BE',
  'BG',
  'HR',
  'CY',
  'CZ',
  'DK',
  'EE',
  'FI',
  'FR',
  'DE',
  'GR',
  'HU',
  'IE',
  'IT',
  'LV',
  'LT',
  'LU',
  'MT',
  'NL',
  'PL',
  'PT',
  'RO',
  'SK',
  'SI',
  'ES',
  'SE',
  'IS',
  'LI',
  'NO',
  'GB',
]);

export function minimumAgeFor(region: string): 13 | 16 {
  return EEA_AND_UK.has(region.toUpperCase()) ? 16 : 13;
}

/** ISO 3166-1 alpha-2 shape; the web app offers the list of countries. */
export const isRegionCode = (v: unknown): v is string => typeof v === 'string' && /^[A-Z]{2}$/.test(v);
