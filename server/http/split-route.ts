import { z } from 'zod';
import type { Playbook } from '../cases/playbook';
import { compilePlaybook, type CompiledPlaybook } from '../cases/suggest';
import type { ConversationSettings } from '../conversation/settings';
import { splitEntry } from '../intake/split';
import { parseBody } from './body';
import { seesCase } from '../auth/policy';
import { caseDetail, caseStub } from './case-json';
import { wrap, type ApiRoute } from './route-kit';

const splitBody = z
  .object({
    version: z.number().int().min(0),
    entryId: z.string().min(1).max(300),
  })
  .strict();

const compiled = new WeakMap<Playbook, CompiledPlaybook>();
const compiledOf = (playbook: Playbook) => {
  let found = compiled.get(playbook);
  if (!found) compiled.set(playbook, (found = compilePlaybook(playbook)));
  return found;
};

/** Takes a received email out of a case (a storm case, most often) into a case of its own. */
export function splitRoute(playbook: () => Playbook, conversation?: ConversationSettings): ApiRoute {
  return {
    method: 'post',
    path: '/cases/:key/split',
    access: 'case:work',
    summary:
      'Take a received email out into a case of its own, which is worked as a new report (its own suggestion, clocks, page and acknowledgement). Answers the new case, with `splitFrom` the case it left',
    body: {
      version: 'the case version you last saw (GET returns it); a stale one answers 412',
      entryId: 'the timeline entry of the email, such as email:<ingest key>',
    },
    handler: wrap(async (req) => {
      const body = parseBody(splitBody, req.body);
      const { from, to } = await splitEntry(String(req.params.key), body.version, body.entryId, req.user!, {
        playbook: compiledOf(playbook()),
        conversation,
      });
      // The new case can be restricted (a lost device, a data incident) where the old one was not.
      const shown = seesCase(req.user!, to) ? await caseDetail(to, playbook()) : caseStub(to);
      return { ...shown, splitFrom: { key: from.key, version: from.version } };
    }, 201),
  };
}
