/**
 * A service's schema with `this` typed in its actions, events, methods and lifecycle
 * handlers: Moleculer's Service plus the service's own methods `M`, and nothing else
 * (Moleculer's defaults let any `this.name` through as `any`).
 */
import type { ServiceSchema, ServiceSettingSchema } from "moleculer";

export type TypedServiceSchema<M extends object = object> = ServiceSchema<ServiceSettingSchema, M, object>;
