import { describe, expect, it } from 'vitest';
import { headingAnchors, slugify, tableOfContents } from './legal';

describe('the outline of a legal document', () => {
  it('lists the #, ## and ### headings outside code, with unique anchors and plain text', () => {
    const md = [
      '# Title in the text',
      '## 1. What *we* collect',
      'text',
      '```',
      '## not a heading',
      '```',
      '### 1.1 Tu [cuenta](https://example.com) ##',
      '#### too deep',
      '## 1. What we collect',
      '~~~md',
      '# also not',
      '~~~',
      '##no space is no heading',
    ].join('\n');
    expect(tableOfContents(md)).toEqual([
      { id: 'title-in-the-text', text: 'Title in the text', level: 2 },
      { id: '1-what-we-collect', text: '1. What we collect', level: 2 },
      { id: '1-1-tu-cuenta', text: '1.1 Tu cuenta', level: 3 },
      { id: '1-what-we-collect-2', text: '1. What we collect', level: 2 },
    ]);
    expect(slugify('¿Dónde se tratan tus datos?')).toBe('donde-se-tratan-tus-datos');
    expect(slugify('***')).toBe('section');
  });

  it('gives the rendered headings the same anchors, in order, or their own when the outline differs', () => {
    const heading = (tag: string, text: string) => ({ type: 'element', tagName: tag, properties: {}, children: [{ type: 'text', value: text }] });
    const tree = { type: 'root', children: [heading('h2', 'A'), { type: 'element', tagName: 'p', children: [] }, heading('h3', 'B')] };
    headingAnchors([
      { id: 'first', text: 'A', level: 2 },
      { id: 'second', text: 'B', level: 3 },
    ])()(tree);
    expect(tree.children.map((c) => (c as { properties?: { id?: string } }).properties?.id)).toEqual(['first', undefined, 'second']);
    const other = { type: 'root', children: [heading('h2', 'Same'), heading('h2', 'Same')] };
    headingAnchors([])()(other);
    expect(other.children.map((c) => (c.properties as { id?: string }).id)).toEqual(['same', 'same-2']);
  });
});
