/** The browser's languages, preferred first. Some browsers give an empty list and only `navigator.language`. */
export function browserLanguages(): readonly string[] {
  return navigator.languages.length ? navigator.languages : [navigator.language];
}
