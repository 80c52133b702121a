import type { ServingSpec } from '../../src/domain/servingSpec';
import { ModelEntity, RequestRefused } from '../../src/workflows/modelEntity';

const spec = (replicas = 1): ServingSpec => ({
  model_id_suffix: 'm',
  model_source: '/private/hf/m',
  num_replicas: replicas,
  gpus_per_replica: 1,
  engine_kwargs: {},
  readiness_timeout_s: null,
});
const fresh = () => ModelEntity.first('svc-a-20260101-000000-abcd', 'a-202601010000-m', 'a', spec());

describe('ModelEntity', () => {
  it('numbers events from 1 and snapshots the row each implies', () => {
    const model = fresh();
    const { event } = model.acceptDeploy(spec());
    expect(event).toMatchObject({ seq: 1, eventType: 'DEPLOY_REQUESTED', projection: { state: 'QUEUED', revision: 1 } });
    expect(model.event('APPLY_STARTED', {}).seq).toBe(2);
  });

  it('after a rolled-back change, builds scales on the serving spec and lets the failed spec be retried', () => {
    const model = fresh();
    model.acceptDeploy(spec(1));
    const good = model.takeRollout();
    model.markRunning(good);
    const failing: ServingSpec = { ...spec(1), engine_kwargs: { max_model_len: 4096 } };
    model.acceptDeploy(failing);
    model.takeRollout();
    model.markRunning(good, 'revision 2 failed; rolled back to revision 1'); // what a rollback ends with
    expect(model.view()).toMatchObject({ state: 'RUNNING', spec: { engine_kwargs: {} } });

    const scaled = model.acceptScale({ num_replicas: 3 });
    expect(scaled.ack).toMatchObject({ changed: true, revision: 3 });
    expect(model.takeRollout().spec).toEqual({ ...spec(3), engine_kwargs: {} });
    model.markRunning({ revision: 3, spec: spec(3), kind: 'scale' });

    expect(model.acceptDeploy(spec(3)).ack.changed).toBe(false); // identical to what serves
    expect(model.acceptDeploy({ ...failing, num_replicas: 3 }).ack).toMatchObject({ changed: true, revision: 4 }); // a retry of the failed change
  });

  it("shows a request still waiting behind a rollout, so the row and its user's quota count it at once", () => {
    const model = fresh();
    model.acceptDeploy(spec(1));
    const first = model.takeRollout();
    // A second request with more replicas arrives while the first rolls out...
    expect(model.acceptDeploy(spec(2)).event?.projection.spec.num_replicas).toBe(2);
    // ...and the first revision turns RUNNING before the second is taken: the row keeps the waiting spec.
    model.markRunning(first);
    expect(model.event('RUNNING', {}).projection).toMatchObject({ state: 'RUNNING', revision: 2, spec: { num_replicas: 2 } });
    expect(model.view()).toMatchObject({ state: 'RUNNING', spec: { num_replicas: 2 }, serving_revision: 1 });
    model.takeRollout();
    model.markRunning({ revision: 2, spec: spec(2), kind: 'deploy' });
    expect(model.event('RUNNING', {}).projection.spec.num_replicas).toBe(2);
  });

  it('lets the newest spec supersede an older one still queued', () => {
    const model = fresh();
    model.acceptDeploy(spec(1));
    model.acceptDeploy(spec(2));
    expect(model.hasPendingRollout()).toBe(true);
    expect(model.takeRollout()).toMatchObject({ revision: 2, spec: { num_replicas: 2 } });
    expect(model.hasPendingRollout()).toBe(false);
  });

  it('treats an identical spec as no change, except after a failure (a retry)', () => {
    const model = fresh();
    model.acceptDeploy(spec());
    const rollout = model.takeRollout();
    model.markRunning(rollout);
    expect(model.acceptDeploy(spec()).ack.changed).toBe(false);
    model.transition('FAILED', 'boom');
    expect(model.acceptDeploy(spec()).ack).toMatchObject({ changed: true, revision: 2, state: 'QUEUED' });
  });

  it('scales from the latest spec and ignores a scale to the current count', () => {
    const model = fresh();
    model.acceptDeploy(spec(2));
    model.markRunning(model.takeRollout());
    expect(model.acceptScale({ num_replicas: 2 }).ack.changed).toBe(false);
    const { ack, event } = model.acceptScale({ num_replicas: 4 });
    expect(ack).toMatchObject({ revision: 2, changed: true });
    expect(event?.eventType).toBe('SCALE_REQUESTED');
    expect(model.takeRollout()).toMatchObject({ kind: 'scale', spec: { num_replicas: 4 } });
  });

  it('shows the spec that serves after a rollback, not the one that failed', () => {
    const model = fresh();
    model.acceptDeploy(spec(1));
    const good = model.takeRollout();
    model.markRunning(good);
    model.acceptScale({ num_replicas: 5 });
    model.takeRollout();
    model.markRunning(good, 'revision 2 failed');
    expect(model.view()).toMatchObject({ state: 'RUNNING', spec: { num_replicas: 1 }, error_summary: 'revision 2 failed', serving_revision: 1 });
  });

  it('lets a delete win over everything and refuses changes afterwards', () => {
    const model = fresh();
    model.acceptDeploy(spec());
    expect(model.acceptDelete().ack.state).toBe('DELETING');
    expect(model.hasPendingRollout()).toBe(false);
    expect(model.isSuperseded(99)).toBe(true);
    expect(() => model.acceptDeploy(spec(3))).toThrow(RequestRefused);
    expect(() => model.acceptScale({ num_replicas: 3 })).toThrow(RequestRefused);
    expect(model.acceptDelete()).toMatchObject({ ack: { changed: false }, event: null });
    model.transition('RUNNING');
    expect(model.state).toBe('DELETING');
  });

  it('carries its whole state across continue-as-new', () => {
    const model = fresh();
    model.acceptDeploy(spec(2));
    model.markRunning(model.takeRollout());
    model.setDetails('serving revision 1');
    const copy = new ModelEntity(model.snapshot());
    expect(copy.view()).toEqual(model.view());
    expect(copy.view().details).toBe('serving revision 1');
    expect(copy.event('RUNNING', {}).seq).toBe(model.event('RUNNING', {}).seq);
  });

  it('carries a request still waiting across continue-as-new, so the next run rolls it out', () => {
    const model = fresh();
    model.acceptDeploy(spec(1));
    model.markRunning(model.takeRollout());
    model.acceptScale({ num_replicas: 3 });
    const copy = new ModelEntity(model.snapshot());
    expect(copy.hasPendingRollout()).toBe(true);
    expect(copy.takeRollout()).toMatchObject({ revision: 2, kind: 'scale', spec: { num_replicas: 3 } });
  });

  it('carries a pending delete across continue-as-new', () => {
    const model = fresh();
    model.acceptDeploy(spec(1));
    model.acceptDelete();
    const copy = new ModelEntity(model.snapshot());
    expect(copy.deleteRequested).toBe(true);
    expect(copy.state).toBe('DELETING');
    expect(copy.hasPendingRollout()).toBe(false);
  });

  describe('what the reconciler saw', () => {
    const running = () => {
      const model = fresh();
      model.acceptDeploy(spec());
      model.markRunning(model.takeRollout());
      model.seenReady(1_000);
      return model;
    };
    const notice = (health: 'healthy' | 'degraded' | 'missing', observedAt = 2_000) => ({ health, message: `it is ${health}`, running: 0, target: 1, observedAt });

    it('a RUNNING model needs care once the cluster says it is degraded or missing, not while healthy', () => {
      const model = running();
      expect(model.needsCare()).toBe(false);
      model.observe(notice('healthy'));
      expect(model.needsCare()).toBe(false);
      model.observe(notice('missing'));
      expect(model.needsCare()).toBe(true);
    });

    it('ignores a notice made before the model was last seen ready', () => {
      const model = running();
      model.observe(notice('degraded', 500));
      expect(model.needsCare()).toBe(false);
      expect(model.observation).toBeNull();
    });

    it('a DEGRADED model shows the spec it serves, and a re-sent identical spec retries it', () => {
      const model = running();
      model.transition('DEGRADED', 'replicas ready 0/1: dead');
      expect(model.view()).toMatchObject({ state: 'DEGRADED', serving_revision: 1, error_summary: 'replicas ready 0/1: dead' });
      expect(model.needsCare()).toBe(true);
      expect(model.acceptDeploy(spec()).ack).toMatchObject({ changed: true, revision: 2 });
      expect(model.needsCare()).toBe(false); // the new request takes over
    });

    it('never needs care once a delete is asked, or before it ever served', () => {
      const model = running();
      model.observe(notice('missing'));
      model.acceptDelete();
      expect(model.needsCare()).toBe(false);
      const unserved = fresh();
      unserved.observe(notice('missing'));
      expect(unserved.needsCare()).toBe(false);
    });

    it('carries the notice and the moment it was seen ready across continue-as-new', () => {
      const model = running();
      model.observe(notice('degraded'));
      const carried = new ModelEntity(model.snapshot());
      expect(carried.needsCare()).toBe(true);
      carried.observe(notice('healthy', 900));
      expect(carried.observation?.health).toBe('degraded');
    });
  });
});
