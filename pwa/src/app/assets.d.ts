/** Stylesheets are imported for their side effect: esbuild writes them to app.css. */
declare module '*.css';
