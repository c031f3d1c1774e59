/** The theme choice's storage key and the inline script that applies it before the first paint (layout <head>). */
export const THEME_KEY = 'keel-theme';
export const THEME_SCRIPT = `try{var t=localStorage.getItem('${THEME_KEY}');if(t==='light'||t==='dark')document.documentElement.dataset.theme=t}catch(e){}`;
