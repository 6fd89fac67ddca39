import { describe, expect, it } from 'vitest';
import { moderationCategories, type ModerationCategory } from './moderation';
import { createRuleMatcher, createTextRulesClassifier, type TextRulesOptions } from './text-rules';
import { builtinCombinationRules, builtinLists, ruleLanguages, ruleSignals, type RuleListName } from './text-rules.lists';

const matcher = createRuleMatcher();
const classify = (text: string) => matcher.classify(text);
const scores = (text: string) => classify(text).scores;
/** every reason, one line each, for failure messages */
const why = (text: string) =>
  classify(text)
    .reasons.map((r) => `${r.category}: ${r.detail}`)
    .join('\n');

/** Ordinary video prompts, as users write them: none may score anything. */
const innocentPrompts = [
  // English
  'A golden retriever puppy runs along a beach at sunset, cinematic slow motion, 4k',
  'Aerial drone shot of a mountain lake at dawn, mist over the water',
  'A bartender mixes a cocktail in a cosy pub in Essex, warm lighting',
  'A therapist and her patient talk in a bright office with plants',
  'Animated data analysis dashboard with charts and graphs, corporate style',
  'Children play football in the school yard during recess',
  'A kid launches a toy rocket at the school science fair',
  'Fireworks over the stadium at the end of a summer concert',
  'A chef slices a chicken breast with a sharp knife, close-up',
  'A knight draws his sword in a castle courtyard, epic fantasy',
  'Grandmother bakes cookies with her grandchildren in a sunny kitchen',
  'A teenage skateboarder lands a kickflip in an empty parking lot',
  'A baby laughs in a bathtub full of bubbles',
  'A sexy red sports car drives along the coastal highway',
  'Graduation day: she finishes summa cum laude and throws her cap',
  'A naked mole rat digs through its burrow, nature documentary',
  'Birdwatching: a blue tit lands on a snowy branch',
  'Paint stripper removes old varnish from a wooden chair, timelapse',
  'Kids having a water gun fight at school on the last day before summer',
  'A bath bomb fizzing in turquoise water, macro shot',
  'A photo shoot at the school for the yearbook, students smiling',
  'A cowboy with a revolver walks through a dusty desert town at noon',
  'Marathon runners wait for the starting gun in a crowded stadium',
  'A documentary about the history of Sussex and its villages',
  'A woman in a nude lipstick and a beige coat walks through Paris',
  'Time-lapse of the Scunthorpe skyline at night',
  'A family celebrates Thanksgiving around a big table',
  'Astronaut floating inside the International Space Station, looking at Earth',
  'Old man feeding pigeons in a park in autumn',
  'A cat knocks a glass off the table in slow motion',
  'Busy Tokyo crossing at night with neon signs and rain',
  'Stars and the milky way visible to the naked eye over the desert',
  'An orchestra plays a symphony in C minor in a grand concert hall',
  'A minor league baseball game on a summer evening',
  'Al Gore gives a speech about climate change',
  'A boy and his grandfather fishing on a quiet river at sunrise',
  'Teenagers dancing at a school prom, colourful lights',
  'A 7 year old girl blows out the candles on her birthday cake',
  // Spanish
  'Un niño juega con su perro en el parque al atardecer',
  'Una niña de 7 años sopla las velas de su pastel de cumpleaños',
  'Vista aérea de Madrid al atardecer, estilo cinematográfico',
  'Un cóctel de frutas tropicales en una terraza frente al mar',
  'Un terapeuta conversa con su paciente en una consulta luminosa',
  'El sexto piso de un edificio moderno con ventanales',
  'Análisis de datos en una pantalla con gráficos animados',
  'Niños jugando con una pistola de agua en la piscina',
  'Un chef corta pechuga de pollo en una cocina profesional',
  'Niños con los pies desnudos corriendo por la playa',
  'Hace 10 años una familia viajaba en coche por la costa',
  'Una bomba de agua saca agua del pozo en el jardín',
  'Un gato negro duerme sobre unos zapatos negros',
  'Una boda en una iglesia llena de invitados',
  'Un concierto de rock con una multitud bailando',
  'Fuegos artificiales sobre el estadio durante la final',
  'Una mujer sensual baila flamenco en un tablao de Sevilla',
  'La computadora muestra un gráfico de ventas',
  'Nina baila con un vestido sexy en una fiesta',
  'Un árbol desnudo en invierno bajo la nieve',
  'Adolescentes patinando en un parque urbano',
  'Un abuelo enseña a su nieto a pescar en el lago',
  // French, German, Portuguese, Italian
  'Un enfant court dans un champ de tournesols',
  'Analyse de données sur un écran, style futuriste',
  'Ein Kind spielt mit seinem Hund im Garten',
  'Eine Nacktschnecke kriecht über ein nasses Blatt',
  'Uma criança brinca na praia na sexta-feira à tarde',
  'Un bambino gioca a calcio nel cortile della scuola',
  'Una ragazza cammina a piedi nudi sulla sabbia',
];

describe('false positives', () => {
  it.each(innocentPrompts)('scores nothing for an ordinary prompt: %s', (prompt) => {
    expect(scores(prompt), why(prompt)).toEqual({});
  });

  it('does not read words that contain a listed word as that word (word boundaries after normalisation)', () => {
    for (const word of [
      'Sussex',
      'Essex',
      'Middlesex',
      'cocktail',
      'Scunthorpe',
      'analysis',
      'therapist',
      'sexto',
      'sexta',
      'sextant',
      'computadora',
      'classic',
      'assassin',
      'Dickens',
      'title',
      'Penistone',
      'grapefruit',
      'niggardly',
    ]) {
      expect(scores(`a video about ${word}`), `${word}\n${why(word)}`).toEqual({});
    }
  });

  it('tells apart Spanish words that accents alone separate: niña is not Nina, año is not ano', () => {
    expect(scores('Nina con un vestido sexy')).toEqual({});
    expect(scores('una niña con un vestido sexy')).toEqual({ 'sexual/minors': 1 });
  });

  it('does not take a duration for an age: "hace 10 años", "il y a 10 ans", "vor 10 Jahren", "10 years ago"', () => {
    for (const text of [
      'hace 10 años vimos una película porno',
      'il y a 10 ans, un film porno',
      'vor 10 Jahren ein Pornofilm',
      'a porn film from 10 years ago',
    ]) {
      expect(scores(text), why(text)).toEqual({ sexual: 1 });
    }
  });

  it('adults are not minors: 18, 25, "18 years old"', () => {
    for (const text of ['a naked 25 year old woman', 'a naked woman, 18 years old', 'una mujer de 30 años desnuda'])
      expect(scores(text), why(text)).toEqual({ sexual: 1 });
  });

  it('a weapon alone, a place alone or an attack word alone is nothing', () => {
    for (const text of ['a soldier cleaning his rifle', 'a crowded stadium', 'the team massacred their rivals', 'blow up balloons for the party'])
      expect(scores(text), text).toEqual({});
  });
});

describe('direct hits, in every language', () => {
  const samples: [ModerationCategory, string][] = [
    ['sexual', 'a couple having sex on a bed'],
    ['sexual', 'explicit porn scene'],
    ['sexual', 'una pareja teniendo sexo'],
    ['sexual', 'une femme nue sur la plage'],
    ['sexual', 'eine nackte Frau im Bett'],
    ['sexual', 'uma mulher nua na cama'],
    ['sexual', 'una scena di sesso esplicita'],
    ['sexual/minors', 'child pornography'],
    ['sexual/minors', 'pornografía infantil'],
    ['sexual/minors', 'Kinderpornografie'],
    ['ncii', 'revenge porn of my ex'],
    ['ncii', 'upskirt video in the subway'],
    ['violence', 'a beheading with blood everywhere, gore'],
    ['violence', 'un hombre decapitado'],
    ['terrorism', 'a school shooting'],
    ['terrorism', 'un atentado terrorista en el metro'],
    ['self-harm', 'a girl who wants to kill herself'],
    ['self-harm', 'un chico que quiere suicidarse'],
    ['self-harm', 'tips for cutting myself'],
    ['hate', 'heil hitler'],
  ];
  it.each(samples)('%s: %s', (category, text) => {
    const result = classify(text);
    expect(result.scores[category], why(text)).toBe(1);
    expect(result.reasons.some((r) => r.category === category)).toBe(true);
  });

  it('every built-in entry of a category finds itself and scores that category', () => {
    for (const category of moderationCategories) {
      for (const [lang, list] of Object.entries(builtinLists[category])) {
        for (const entry of [...(list.terms ?? []), ...(list.phrases ?? [])]) {
          const text = entry.replace(/^\*|\*$/g, '');
          expect(scores(text)[category], `${category} ${lang} "${entry}"\n${why(text)}`).toBe(1);
        }
      }
    }
  });

  it('every built-in entry of a signal is found, and scores nothing alone', () => {
    for (const signal of ruleSignals) {
      for (const [lang, list] of Object.entries(builtinLists[signal])) {
        for (const entry of [...(list.terms ?? []), ...(list.phrases ?? [])]) {
          const text = entry.replace(/^\*|\*$/g, '');
          const hits = matcher.hits(text);
          expect(
            hits.some((h) => h.list === signal && h.lang === lang),
            `${signal} ${lang} "${entry}"`,
          ).toBe(true);
          // a signal scores only through combinations, and no rule combines a signal with itself
          const alone = builtinCombinationRules.filter((r) => r.all.every((x) => hits.some((h) => h.list === x)));
          if (!alone.length) expect(scores(text), `${signal} ${lang} "${entry}": ${why(text)}`).toEqual({});
        }
      }
    }
  });

  it('every built-in allow-list entry scores nothing', () => {
    for (const [lang, list] of Object.entries(builtinLists.allow)) {
      for (const entry of [...(list.terms ?? []), ...(list.phrases ?? [])]) {
        const text = entry.replace(/^\*|\*$/g, '');
        expect(scores(text), `allow ${lang} "${entry}": ${why(text)}`).toEqual({});
      }
    }
  });

  it('has lists in the product languages and more', () => {
    expect(ruleLanguages).toEqual(expect.arrayContaining(['en', 'es']));
    for (const category of moderationCategories) {
      expect(Object.keys(builtinLists[category]), category).toEqual(expect.arrayContaining(['en', 'es']));
    }
  });
});

describe('evasion', () => {
  const evasions = [
    'se\u200Bx scene',
    'p\u200Do\u2060r\uFEFFn',
    'p\u00ADorn',
    's3x scene',
    'p0rn',
    '$ex tape',
    'n4k3d woman',
    's e x scene',
    's.e.x scene',
    'p-o-r-n',
    'p_o_r_n',
    'a n a l',
    'sèx scene',
    'pórnó',
    'ѕех scene',
    'рorn',
    'ΝΑΚΕD',
    'Ｐｏｒｎ',
    '𝐩𝐨𝐫𝐧',
    'seeeeex',
    'pooorn',
    'P\u200B0\u00ADR\u200DN',
  ];
  it.each(evasions)('still finds sexual content in %j', (text) => {
    expect(scores(text).sexual, why(text)).toBe(1);
  });

  it('finds a minor and a sexual term through evasions, as sexual/minors', () => {
    for (const text of [
      'a n4k3d ch1ld',
      'n.a.k.e.d c.h.i.l.d',
      'a s e x y teen',
      'niñ\u200Ba desnuda',
      'ᴋɪᴅ ɴᴜᴅᴇ',
      'a 12yo in lingerie',
      'tw3lve year old n@ked',
    ]) {
      expect(scores(text)['sexual/minors'], `${text}\n${why(text)}`).toBe(1);
    }
  });

  it('reads 1 as i and as l', () => {
    expect(scores('s1ut').sexual ?? 0).toBe(0); // not a listed word either way: nothing
    expect(scores('n1gger').hate).toBe(1); // 1 as i
    expect(scores('b1owjob').sexual).toBe(1); // 1 as l
  });

  it('does not stretch a doubled letter into another word: French "nuée" (a swarm) is not "nue"', () => {
    expect(scores("une nuée d'oiseaux")).toEqual({});
    expect(scores('une femme nuuue').sexual).toBe(1);
  });
});

describe('combination rules', () => {
  const combos: [string, ModerationCategory, number][] = [
    ['a naked child', 'sexual/minors', 1],
    ['sexy teen in lingerie', 'sexual/minors', 1],
    ['a 12 year old girl having sex', 'sexual/minors', 1],
    ['a twelve-year-old in a sexy pose', 'sexual/minors', 1],
    ['una niña de doce años desnuda', 'sexual/minors', 1],
    ['una chica de 13 años en lencería', 'sexual/minors', 1],
    ['une fille de 12 ans nue', 'sexual/minors', 1],
    ['eine 12-jährige nackt', 'sexual/minors', 1],
    ['uma menina de 10 anos nua', 'sexual/minors', 1],
    ['una dodicenne nuda', 'sexual/minors', 1],
    ['hidden camera in the shower, naked', 'ncii', 1],
    ['deepfake porn of an actress', 'ncii', 1],
    ['cámara oculta, mujer desnuda', 'ncii', 1],
    ['my coworker naked', 'ncii', 0.8],
    ['a gunman opens fire in a crowded school', 'terrorism', 1],
    ['a man with a rifle at the concert', 'terrorism', 0.5],
    ['explosives at the airport, detonate them', 'terrorism', 1],
    ['un hombre abre fuego con un fusil en la escuela', 'terrorism', 1],
    ['isis fighters with flags', 'terrorism', 1],
    ['kill all jews', 'hate', 1],
    ['matar a todos los inmigrantes', 'hate', 1],
    ['immigrants are vermin', 'hate', 0.8],
  ];
  it.each(combos)('%s -> %s %d', (text, category, score) => {
    expect(scores(text)[category], why(text)).toBe(score);
    expect(classify(text).reasons.some((r) => r.category === category && r.detail.startsWith('combination '))).toBe(true);
  });

  it('keeps the highest score when several rules give one category', () => {
    const text = 'a man with a rifle opens fire in a crowded school';
    expect(scores(text).terrorism).toBe(1);
    const details = classify(text).reasons.filter((r) => r.category === 'terrorism');
    expect(details.map((r) => r.detail)).toEqual([
      'combination weapon+massTarget+attack (1): weapon term "rifle" (en) + massTarget term "crowded" (en) + attack phrase "opens fire" (en)',
      'combination weapon+massTarget (0.5): weapon term "rifle" (en) + massTarget term "crowded" (en)',
    ]);
  });
});

describe('reasons', () => {
  it('name the category, the entry as listed, its language, and what matched when it differs', () => {
    expect(classify('a p0rnstar').reasons).toEqual([{ category: 'sexual', detail: 'term "porn*" (en) as "pornstar"' }]);
    // in the order they appear in the text
    expect(classify('teniendo sexo').reasons).toEqual([
      { category: 'sexual', detail: 'phrase "teniendo sexo" (es)' },
      { category: 'sexual', detail: 'term "sexo" (es)' },
      { category: 'sexual', detail: 'term "sexo" (pt)' },
    ]);
    expect(classify('a 12yo nude').reasons).toEqual([
      { category: 'sexual', detail: 'term "nude" (en)' },
      { category: 'sexual/minors', detail: 'combination minor+sexual (1): minor age "12 yo" (en) + sexual term "nude" (en)' },
    ]);
  });

  it('are capped per category, saying how many more there were', () => {
    const text = 'sex porn nude naked orgy nsfw hentai bdsm topless erotic orgasm milf horny';
    const reasons = classify(text).reasons.filter((r) => r.category === 'sexual');
    expect(reasons).toHaveLength(9);
    expect(reasons.at(-1)!.detail).toMatch(/^and \d+ more$/);
  });
});

describe('operator edits', () => {
  const custom = (o: TextRulesOptions) => createRuleMatcher(o);

  it('extraTerms add terms and phrases to a list, in any language', () => {
    const m = custom({ extraTerms: { sexual: { en: ['spicy video', 'smutfest'], nl: ['naakt'] }, minor: { nl: ['kind'] } } });
    expect(m.classify('a spicy video').scores).toEqual({ sexual: 1 });
    expect(m.classify('smutfest').scores).toEqual({ sexual: 1 });
    expect(m.classify('een naakt kind').scores).toEqual({ sexual: 1, 'sexual/minors': 1 });
    expect(m.classify('een naakt kind').reasons[0]).toEqual({ category: 'sexual', detail: 'term "naakt" (nl)' });
    // the built-in lists are still there
    expect(m.classify('porn').scores).toEqual({ sexual: 1 });
  });

  it('removedTerms take entries out of one language, or out of every language with *', () => {
    expect(scores('sexo')).toEqual({ sexual: 1 });
    const es = custom({ removedTerms: { sexual: { es: ['sexo'] } } });
    // still in the Portuguese list
    expect(es.classify('sexo').reasons).toEqual([{ category: 'sexual', detail: 'term "sexo" (pt)' }]);
    const everywhere = custom({ removedTerms: { sexual: { '*': ['SEXO'] } } });
    expect(everywhere.classify('sexo').scores).toEqual({});
    // a removal names the entry as listed, star included
    expect(custom({ removedTerms: { sexual: { en: ['porn'] } } }).classify('pornstar').scores).toEqual({ sexual: 1 });
    expect(custom({ removedTerms: { sexual: { en: ['porn*'], es: ['porno*'], fr: ['porno*'], de: ['porno*'] } } }).classify('pornstar').scores).toEqual({});
  });

  it('an operator infix term still respects the allow-list', () => {
    const m = custom({ extraTerms: { sexual: { en: ['*cock*'] } } });
    expect(m.classify('cockring').scores).toEqual({ sexual: 1 });
    expect(m.classify('a cocktail in the cockpit of a peacock').scores).toEqual({});
    const more = custom({ extraTerms: { sexual: { en: ['*cock*'] }, allow: { en: ['hancock'] } } });
    expect(more.classify('Hancock').scores).toEqual({});
  });

  it('refuses malformed edits at construction, naming them', () => {
    expect(() => custom({ extraTerms: { nonsense: { en: ['x'] } } as never })).toThrow(/unknown list "nonsense"/);
    expect(() => custom({ extraTerms: { sexual: { en: ['two *words'] } } })).toThrow(/"two \*words".*single word/);
    expect(() => custom({ extraTerms: { sexual: { en: ['por*n'] } } })).toThrow(/only start or end/);
    expect(() => custom({ extraTerms: { sexual: { en: ['!!!'] } } })).toThrow(/no letters or digits/);
    expect(() => custom({ extraTerms: { sexual: { 'not a language': ['x'] } } })).toThrow(/malformed language/);
    expect(() => custom({ extraTerms: { sexual: { '*': ['x'] } } })).toThrow(/need a language/);
    // stored settings of the wrong shape
    expect(() => custom({ extraTerms: { sexual: { en: 'porn' } } } as never)).toThrow(/must be a list of words and phrases/);
    expect(() => custom({ removedTerms: { sexual: ['porn'] } } as never)).toThrow(/must be an object of languages/);
  });

  it('lists every list name an operator can edit', () => {
    const names: RuleListName[] = [...moderationCategories, ...ruleSignals, 'allow'];
    for (const name of names) expect(() => custom({ extraTerms: { [name]: { en: ['zzqx'] } } })).not.toThrow();
  });
});

describe('the TextClassifier', () => {
  const classifier = createTextRulesClassifier();

  it('is named builtin-rules and answers for a prompt and a negative prompt alike, whatever the language hint', async () => {
    expect(classifier.name).toBe('builtin-rules');
    const a = await classifier.classifyText({ field: 'prompt', text: 'una mujer desnuda', language: 'en' });
    const b = await classifier.classifyText({ field: 'negative_prompt', text: 'una mujer desnuda' });
    expect(a).toEqual(b);
    expect(a).toMatchObject({ classifier: 'builtin-rules', scores: { sexual: 1 } });
  });

  it('reads a very long text whole', async () => {
    const text = `${'A calm lake with mountains in the background, birds flying over the water. '.repeat(300)}and then explicit porn`;
    expect(text.length).toBeGreaterThan(20_000);
    expect((await classifier.classifyText({ field: 'prompt', text })).scores).toEqual({ sexual: 1 });
  });

  it('rejects with the reason of an aborted signal', async () => {
    const c = new AbortController();
    c.abort(new Error('request closed'));
    await expect(classifier.classifyText({ field: 'prompt', text: 'hello' }, c.signal)).rejects.toThrow('request closed');
  });
});
