import { useEffect, useState } from 'preact/hooks';
import { get, request } from '../api';
import { me, say, useCell } from '../store';
import { ErrorText, Field, Freshness, ScreenFrame, Select, useAction, useLoad } from '../ui/ui';

/**
 * The weekly on-call rota: who is on call now, and (for admins) the slots that make it. A slot
 * is a day, a span of local time in the rota's time zone (past midnight when it ends earlier than
 * it starts), and a member. Members can also mark themselves on call in Settings.
 */

interface Slot {
  day: number;
  start: string;
  end: string;
  userId: string;
}
interface OnCall {
  now: { id: string; name: string; self: boolean }[];
  rota: { timeZone: string; slots: Slot[] };
}
interface Member {
  id: string;
  name: string;
}

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const dayOptions: [string, string][] = DAYS.map((d, i) => [String(i), d]);

async function loadRota() {
  const [oncall, members] = await Promise.all([
    get<OnCall>('/api/oncall'),
    get<{ members: Member[] }>('/api/members'),
  ]);
  return { status: 200, body: { ...oncall.body, members: members.body.members }, cachedAt: oncall.cachedAt };
}

export function Rota() {
  const who = useCell(me);
  const loaded = useLoad(loadRota, []);
  const admin = who?.role === 'admin';
  const data = loaded.data;
  const name = (id: string) => data?.members.find((m) => m.id === id)?.name ?? 'a former member';
  return (
    <ScreenFrame title="On call">
      <Freshness cachedAt={loaded.cachedAt} loading={loaded.loading} />
      <ErrorText error={loaded.error} />
      {data ? (
        <>
          <section class="card" aria-labelledby="now-h">
            <h2 id="now-h">On call now</h2>
            {data.now.length ? (
              <ul>
                {data.now.map((p) => (
                  <li key={p.id}>
                    {p.name} {p.self ? '(marked themselves)' : '(by the rota)'}
                  </li>
                ))}
              </ul>
            ) : (
              <p>Nobody: urgent cases page the leads only.</p>
            )}
          </section>
          {admin ? (
            <RotaEditor rota={data.rota} members={data.members} saved={loaded.reload} />
          ) : (
            <section class="card" aria-labelledby="rota-h">
              <h2 id="rota-h">Weekly rota ({data.rota.timeZone})</h2>
              {data.rota.slots.length ? (
                <ul>
                  {data.rota.slots.map((s, i) => (
                    <li key={i}>
                      {DAYS[s.day]} {s.start}–{s.end}: {name(s.userId)}
                    </li>
                  ))}
                </ul>
              ) : (
                <p>No rota yet; an admin keeps it.</p>
              )}
            </section>
          )}
        </>
      ) : null}
    </ScreenFrame>
  );
}

function RotaEditor(props: { rota: OnCall['rota']; members: Member[]; saved: () => void }) {
  const [timeZone, setTimeZone] = useState(props.rota.timeZone);
  const [slots, setSlots] = useState<Slot[]>(props.rota.slots);
  const act = useAction();
  useEffect(() => {
    setTimeZone(props.rota.timeZone);
    setSlots(props.rota.slots);
  }, [props.rota]);
  const people: [string, string][] = props.members.map((m) => [m.id, m.name]);
  const change = (i: number, patch: Partial<Slot>) =>
    setSlots(slots.map((s, k) => (k === i ? { ...s, ...patch } : s)));
  const add = () =>
    setSlots([...slots, { day: 1, start: '18:00', end: '08:00', userId: props.members[0]?.id ?? '' }]);
  const save = (e: Event) => {
    e.preventDefault();
    void act.run(async () => {
      await request('PUT', '/api/oncall/rota', { timeZone, slots });
      say('Rota saved.');
      props.saved();
    });
  };
  return (
    <form class="card" aria-labelledby="rota-h" onSubmit={save}>
      <h2 id="rota-h">Weekly rota</h2>
      <Field
        label="Time zone"
        value={timeZone}
        onInput={setTimeZone}
        hint="An IANA name such as Europe/Berlin; the times below are in it."
      />
      {slots.map((s, i) => (
        <fieldset key={i} class="slot">
          <legend>Slot {i + 1}</legend>
          <Select
            label="Day"
            value={String(s.day)}
            options={dayOptions}
            onChange={(v) => change(i, { day: Number(v) })}
          />
          <div class="pair">
            <Field label="From" type="time" value={s.start} onInput={(v) => change(i, { start: v })} />
            <Field label="Until" type="time" value={s.end} onInput={(v) => change(i, { end: v })} />
          </div>
          <Select
            label="Member"
            value={s.userId}
            options={people}
            onChange={(v) => change(i, { userId: v })}
          />
          <button
            type="button"
            class="secondary small"
            onClick={() => setSlots(slots.filter((_, k) => k !== i))}
          >
            Remove slot {i + 1}
          </button>
        </fieldset>
      ))}
      <p class="hint">A slot that ends earlier than it starts runs past midnight into the next day.</p>
      <ErrorText error={act.error} />
      <div class="actions">
        <button type="button" class="secondary" onClick={add}>
          Add a slot
        </button>
        <button type="submit" class="primary" disabled={act.busy}>
          Save the rota
        </button>
      </div>
    </form>
  );
}
