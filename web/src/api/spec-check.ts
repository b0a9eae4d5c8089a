// Compile-time checks that the client's types (types.ts) agree with the API
// description: schema.d.ts is generated from api/openapi.yaml on every build, so
// a change to the spec that the app does not follow fails `tsc`. Schemas the
// spec does not define yet resolve to `never` and pass until they are added.
import type { components } from './schema';
import type {
  ApiToken,
  AuditVerify,
  InventoryItem,
  OrderDetail,
  OrderLine,
  OrderSummary,
  Profile,
  StoredEvent,
  User,
} from './types';
import type { Problem } from './problem';

type Schemas = components['schemas'];
type Spec<K extends string> = K extends keyof Schemas ? Schemas[K] : never;

/** Both ways: what the server sends fits our type, and our type names nothing the server lacks. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Fits<A, B> = [A] extends [B] ? true : false;
type Assert<T extends true> = T;

export type SpecChecks = [
  Assert<Same<Spec<'Profile'>, Profile>>,
  Assert<Same<Spec<'OrderSummary'>, OrderSummary>>,
  Assert<Same<Spec<'OrderLine'>, OrderLine>>,
  Assert<Fits<Spec<'Order'>, OrderDetail>>,
  Assert<Same<Spec<'InventoryItem'>, InventoryItem>>,
  Assert<Same<Spec<'User'>, User>>,
  Assert<Same<Spec<'APIToken'>, ApiToken>>,
  Assert<Fits<Spec<'Problem'>, Problem>>,
  Assert<Same<Spec<'ShopVerify'>, AuditVerify>>,
  // Event data is free-form JSON per event type; the rest must match.
  Assert<Same<Omit<Spec<'Event'>, 'data'>, Omit<StoredEvent, 'data'>>>,
];
