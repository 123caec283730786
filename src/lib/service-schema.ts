/**
 * A service's schema with `this` typed in its actions, events, methods and lifecycle
 * handlers: Moleculer's Service plus the service's own methods `M`, and nothing else
 * (Moleculer's defaults let any `this.name` through as `any`). `S`: its settings (a
 * mixin's, such as moleculer-web's); `V`: what a mixin adds to the service that it uses.
 */
import type { ServiceSchema, ServiceSettingSchema } from "moleculer";

export type TypedServiceSchema<M extends object = object, S extends ServiceSettingSchema = ServiceSettingSchema, V extends object = object> =
  ServiceSchema<S, M, V>;
