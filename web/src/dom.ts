// A small element builder: every text goes in as a text node (never innerHTML), so nothing an
// answer carries can become markup or script.
import { lang, setLang, t } from './i18n';

type Attrs = Record<string, string | boolean | undefined>;
type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    el.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return el;
}

/** A labelled field: <label>, the control, an optional hint and a place for its error. */
export function field(id: string, label: string, control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement,
  hint?: string): { wrap: HTMLElement; error: HTMLElement } {
  control.id = id;
  const error = h('p', { class: 'field-error', id: `${id}-error`, role: 'alert' });
  const describedBy = [hint ? `${id}-hint` : '', `${id}-error`].filter(Boolean).join(' ');
  control.setAttribute('aria-describedby', describedBy);
  const wrap = h('div', { class: 'field' }, h('label', { for: id }, label), control,
    hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null, error);
  return { wrap, error };
}

/** The language switch: re-renders the page in the other language and remembers the choice. */
export function langSwitch(rerender: () => void): HTMLButtonElement {
  const button = h('button', { type: 'button', class: 'lang', 'aria-label': t('lang.switch.label'), 'data-testid': 'lang' },
    t('lang.switch'));
  button.addEventListener('click', () => {
    setLang(lang() === 'ko' ? 'en' : 'ko', true);
    rerender();
  });
  return button;
}
