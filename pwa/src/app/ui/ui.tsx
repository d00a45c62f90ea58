import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { errorText, type Answer } from '../api';
import { clock } from './format';
import { online, useCell } from '../store';

/** The frame of a screen: its heading takes the focus when it opens, so a screen reader announces it. */
export function ScreenFrame(props: { title: string; sub?: ComponentChildren; children: ComponentChildren }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    heading.current?.focus();
    document.title = `${props.title} · Tocsin`;
  }, [props.title]);
  return (
    <>
      <h1 ref={heading} tabIndex={-1}>
        {props.title}
      </h1>
      {props.sub}
      {props.children}
    </>
  );
}

/** The state of one load: the data, when a cache answered for it, and what went wrong. */
export interface Loaded<T> {
  data?: T;
  cachedAt?: Date;
  error?: string;
  loading: boolean;
  reload(): void;
}

export function useLoad<T>(load: () => Promise<Answer<T>>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<Omit<Loaded<T>, 'reload'>>({ loading: true });
  const [tick, setTick] = useState(0);
  const run = useCallback(load, deps);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    run().then(
      (a) => live && setState({ data: a.body, cachedAt: a.cachedAt, loading: false }),
      (err: unknown) => live && setState((s) => ({ ...s, error: errorText(err), loading: false })),
    );
    return () => {
      live = false;
    };
  }, [run, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

/** "Offline", and how old the data is when it came from the cache. */
export function Freshness(props: { cachedAt?: Date; loading?: boolean }) {
  const isOnline = useCell(online);
  const parts: string[] = [];
  if (!isOnline) parts.push('Offline');
  if (props.cachedAt) parts.push(`as of ${clock(props.cachedAt)}`);
  if (props.loading) parts.push('loading…');
  if (!parts.length) return null;
  return <p class="freshness">{parts.join(' · ')}</p>;
}

export function ErrorText(props: { error?: string }) {
  if (!props.error) return null;
  return (
    <p class="error" role="alert">
      {props.error}
    </p>
  );
}

/** A labelled text input; the label is always visible. */
export function Field(props: {
  label: string;
  value: string;
  onInput: (v: string) => void;
  type?: string;
  multiline?: boolean;
  required?: boolean;
  autocomplete?: string;
  hint?: string;
  name?: string;
}) {
  const id = useRef(`f${Math.random().toString(36).slice(2, 9)}`).current;
  const common = {
    id,
    name: props.name,
    value: props.value,
    required: props.required,
    'aria-describedby': props.hint ? `${id}-hint` : undefined,
    onInput: (e: Event) => props.onInput((e.currentTarget as HTMLInputElement).value),
  };
  return (
    <div class="field">
      <label for={id}>
        {props.label}
        {props.required ? <span class="req"> (required)</span> : null}
      </label>
      {props.multiline ? (
        <textarea {...common} rows={4} />
      ) : (
        <input {...common} type={props.type ?? 'text'} autocomplete={props.autocomplete} />
      )}
      {props.hint ? (
        <p class="hint" id={`${id}-hint`}>
          {props.hint}
        </p>
      ) : null}
    </div>
  );
}

export function Select(props: {
  label: string;
  value: string;
  options: [string, string][];
  onChange: (v: string) => void;
}) {
  const id = useRef(`s${Math.random().toString(36).slice(2, 9)}`).current;
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <select
        id={id}
        value={props.value}
        onChange={(e) => props.onChange((e.currentTarget as HTMLSelectElement).value)}
      >
        {props.options.map(([v, text]) => (
          <option key={v} value={v}>
            {text}
          </option>
        ))}
      </select>
    </div>
  );
}

/** Runs an action once at a time, keeping its error to show. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const run = useCallback(async (fn: () => Promise<unknown>) => {
    setBusy(true);
    setError(undefined);
    try {
      await fn();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, setError, run };
}

/** Whether the report that opened a case passed DMARC, SPF or DKIM; nothing when it was not checked. */
export function SenderBadge({ verdict }: { verdict?: string }) {
  if (verdict === 'pass') return <span class="badge ok">verified sender</span>;
  if (verdict === 'fail') return <span class="badge warn">sender not verified</span>;
  return null;
}
