import { ARPABET_TO_IPA, PHONES, arpabetToIpa, ipaToArpabet, isPhone, phoneId, stripStress } from '../../src/text/phones.js';

describe('PHONES', () => {
  test('is the 39-phone CMU set in alphabetical order (model contract)', () => {
    expect(PHONES.join(' ')).toBe(
      'AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH UH UW V W Y Z ZH',
    );
    expect(new Set(PHONES).size).toBe(39);
    expect([...PHONES].sort()).toEqual([...PHONES]);
  });

  test('stripStress and phoneId', () => {
    expect(stripStress('IY0')).toBe('IY');
    expect(stripStress('AH1')).toBe('AH');
    expect(stripStress('ER2')).toBe('ER');
    expect(stripStress('TH')).toBe('TH');
    expect(phoneId('AA')).toBe(0);
    expect(phoneId('IY0')).toBe(phoneId('IY'));
    expect(phoneId('IY1')).toBe(17);
    expect(phoneId('ZH')).toBe(38);
    PHONES.forEach((p, i) => expect(phoneId(p)).toBe(i));
    expect(() => phoneId('XX')).toThrow(/Unknown ARPAbet phone/);
    expect(() => phoneId('iy')).toThrow();
    expect(() => phoneId('')).toThrow();
    expect(isPhone('UH')).toBe(true);
    expect(isPhone('Q')).toBe(false);
  });
});

describe('ARPAbet <-> IPA', () => {
  test('every phone has an IPA symbol that maps back to it', () => {
    for (const p of PHONES) {
      expect(ARPABET_TO_IPA[p]).toBeTruthy();
      expect(ipaToArpabet(ARPABET_TO_IPA[p])).toEqual([p]);
      expect(ipaToArpabet(arpabetToIpa(`${p}0`))).toEqual([p]);
    }
  });

  test('unstressed AH and ER', () => {
    expect(arpabetToIpa('AH0')).toBe('ə');
    expect(arpabetToIpa('AH1')).toBe('ʌ');
    expect(arpabetToIpa('ER0')).toBe('ɚ');
    expect(() => arpabetToIpa('QQ')).toThrow();
  });

  test('IPA strings, variants and marks', () => {
    expect(ipaToArpabet('θ')).toEqual(['TH']);
    expect(ipaToArpabet('/ð/')).toEqual(['DH']);
    expect(ipaToArpabet('/ˈθɪŋk/')).toEqual(['TH', 'IH', 'NG', 'K']);
    expect(ipaToArpabet('ə')).toEqual(['AH']);
    expect(ipaToArpabet('ɚ')).toEqual(['ER']);
    expect(ipaToArpabet('iː')).toEqual(['IY']);
    expect(ipaToArpabet('əʊ')).toEqual(['OW']);
    expect(ipaToArpabet('t͡ʃ')).toEqual(['CH']);
    expect(ipaToArpabet('ʤ')).toEqual(['JH']);
    expect(ipaToArpabet('r')).toEqual(['R']);
    expect(ipaToArpabet('g')).toEqual(['G']);
    expect(ipaToArpabet('ˈwɔːtə')).toEqual(['W', 'AO', 'T', 'AH']);
    expect(ipaToArpabet('x')).toBeNull();
    expect(ipaToArpabet('')).toBeNull();
    expect(ipaToArpabet('ˈ')).toBeNull();
  });
});
