'use client';
/**
 * Light / dark: follows prefers-color-scheme until the user picks one; the choice is kept in
 * localStorage and applied as <html data-theme> before the first paint (THEME_SCRIPT, in the
 * layout's <head>), so a page never flashes the other theme.
 */
import { useEffect, useState } from 'react';
import { THEME_KEY as KEY } from './theme-script.ts';

export type TThemeChoice = 'system' | 'light' | 'dark';

function readChoice(): TThemeChoice {
  try {
    const t = localStorage.getItem(KEY);
    return t === 'light' || t === 'dark' ? t : 'system';
  } catch {
    return 'system';
  }
}

function apply(choice: TThemeChoice): void {
  const root = document.documentElement;
  if (choice === 'system') delete root.dataset.theme;
  else root.dataset.theme = choice;
  try {
    if (choice === 'system') localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, choice);
  } catch {
    /* private mode: the choice lasts for this page only */
  }
}

const OPTIONS: Array<{ value: TThemeChoice; label: string }> = [
  { value: 'system', label: 'Auto' },
  { value: 'light', label: 'Light' },
  { value: 'dark', label: 'Dark' },
];

export function ThemeSwitch() {
  const [choice, setChoice] = useState<TThemeChoice>('system');
  useEffect(() => setChoice(readChoice()), []);
  return (
    <div className="theme-switch" role="radiogroup" aria-label="Theme">
      {OPTIONS.map((o) => (
        <button
          key={o.value}
          type="button"
          role="radio"
          aria-checked={choice === o.value}
          title={o.value === 'system' ? 'Follow the system setting' : `${o.label} theme`}
          onClick={() => {
            apply(o.value);
            setChoice(o.value);
          }}
        >
          {o.label}
        </button>
      ))}
    </div>
  );
}
