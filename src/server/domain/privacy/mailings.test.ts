import { describe, expect, it } from 'vitest';
import { renderEmail } from '../../mail/templates';
import { parseMailingContent, parseMailingFile } from './mailings.service';

describe('mailing files and content', () => {
  const transfer = {
    key: 'acme-2027',
    newOwner: 'Acme Media Inc.',
    effectiveDate: '2027-03-01',
    message: { en: 'Acme keeps the service running.', es: 'Acme mantiene el servicio.' },
  };

  it('reads a business-transfer file: the key apart from the content', () => {
    expect(parseMailingFile('business-transfer', JSON.stringify(transfer))).toEqual({
      key: 'acme-2027',
      content: { newOwner: 'Acme Media Inc.', effectiveDate: '2027-03-01', message: transfer.message },
    });
  });

  it('explains what is wrong with a file', () => {
    const cases: Array<[string, RegExp]> = [
      ['{not json', /not valid JSON/],
      ['[1, 2]', /one JSON object/],
      ['null', /one JSON object/],
      [JSON.stringify({ ...transfer, key: undefined }), /key: a short one-line name/],
      [JSON.stringify({ ...transfer, key: 'two\nlines' }), /key:/],
      [JSON.stringify({ ...transfer, message: { en: 'only English' } }), /message\.es/],
      [JSON.stringify({ ...transfer, effectiveDate: '1 March 2027' }), /effectiveDate/],
      [JSON.stringify({ ...transfer, url: 'ftp://acme.example/x' }), /url/],
      [JSON.stringify({ ...transfer, newOwner: '' }), /newOwner/],
    ];
    for (const [text, message] of cases) {
      expect(() => parseMailingFile('business-transfer', text), text).toThrow(message);
    }
    expect(() => parseMailingFile('product-update', JSON.stringify(transfer))).toThrow(/invalid|Unrecognized|title/i);
  });

  it('keeps only what a kind allows, trimmed', () => {
    const content = parseMailingContent('product-update', {
      title: { en: '  New  ', es: 'Nuevo' },
      body: { en: 'Body', es: 'Cuerpo' },
    });
    expect(content).toEqual({ title: { en: 'New', es: 'Nuevo' }, body: { en: 'Body', es: 'Cuerpo' } });
  });
});

describe('mailing templates', () => {
  it('a product update shows the operator’s title and paragraphs, and the unsubscribe link in text and HTML', () => {
    const unsubscribeUrl = 'https://savesora.test/api/unsubscribe/abc.def';
    const m = renderEmail('product-update', 'en', {
      name: 'Ada',
      title: 'Longer videos',
      body: 'First paragraph\nstill first.\n\nSecond paragraph.',
      url: 'https://savesora.test/studio',
      buttonLabel: 'Open the studio',
      unsubscribeUrl,
    });
    expect(m.subject).toBe('Save Sora news: Longer videos');
    expect(m.text).toContain('Longer videos\n\nHi Ada,\n\nFirst paragraph\nstill first.\n\nSecond paragraph.');
    expect(m.text).toContain('Open the studio:\nhttps://savesora.test/studio');
    expect(m.text).toContain(`Unsubscribe from product updates:\n${unsubscribeUrl}`);
    expect(m.html).toMatch(/<h2[^>]*>Longer videos<\/h2>/);
    expect(m.html).toContain(`<a href="${unsubscribeUrl}"`);
    expect(m.html).toContain('>Unsubscribe from product updates</a>');
    // no button without a link
    const plain = renderEmail('product-update', 'es', { name: '', title: 'Nuevo', body: 'Hola', unsubscribeUrl });
    expect(plain.subject).toBe('Novedades de Save Sora: Nuevo');
    expect(plain.html).not.toContain('background-color:#4338ca');
    expect(plain.text).toContain('Darme de baja de las novedades del producto:');
  });

  it('escapes what the operator wrote and refuses links that are not http(s)', () => {
    const evil = '"><img src=x onerror=alert(1)>';
    const m = renderEmail('product-update', 'en', {
      name: evil,
      title: evil,
      body: evil,
      url: `https://savesora.test/?q=${evil}`,
      buttonLabel: evil,
      unsubscribeUrl: 'https://savesora.test/api/unsubscribe/a.b',
    });
    expect(m.html).not.toMatch(/<img/i);
    expect(m.text).toContain(evil);
    const transfer = renderEmail('business-transfer', 'en', {
      name: 'Ada',
      newOwner: evil,
      effectiveDate: '2027-03-01',
      message: evil,
      accountUrl: 'https://savesora.test/account',
    });
    expect(transfer.html).not.toMatch(/<img/i);
    expect(() =>
      renderEmail('product-update', 'en', { name: '', title: 't', body: 'b', url: 'javascript:alert(1)', unsubscribeUrl: 'https://savesora.test/u' }),
    ).toThrow(/http\(s\)/);
    expect(() => renderEmail('product-update', 'en', { name: '', title: 't', body: 'b', unsubscribeUrl: 'mailto:x@y.test' })).toThrow(/http\(s\)/);
  });

  it('a business-transfer notice names the new owner and the day in the reader’s language', () => {
    const vars = { name: 'Ada', newOwner: 'Acme Media Inc.', effectiveDate: '2027-03-01', message: 'Hello.', accountUrl: 'https://savesora.test/account' };
    expect(renderEmail('business-transfer', 'en', vars).text).toContain('from March 1, 2027, Acme Media Inc. is responsible for Save Sora');
    expect(renderEmail('business-transfer', 'es', vars).text).toContain('a partir del 1 de marzo de 2027, Acme Media Inc. es responsable de Save Sora');
    expect(() => renderEmail('business-transfer', 'en', { ...vars, effectiveDate: '2027-02-30' })).toThrow(/YYYY-MM-DD/);
  });

  it('a policy-change notice names the document, the version and what changed', () => {
    const m = renderEmail('policy-change', 'en', {
      name: 'Ada',
      documentTitle: 'Terms of Service',
      version: '3',
      summary: 'Refunds within 14 days.',
      url: 'https://savesora.test/legal/terms',
    });
    expect(m.subject).toBe('Save Sora updated its Terms of Service');
    expect(m.text).toContain('We published a new version of our Terms of Service (version 3).');
    expect(m.text).toContain('What changed: Refunds within 14 days.');
    expect(m.text).toContain('Read the Terms of Service:\nhttps://savesora.test/legal/terms');
  });
});
