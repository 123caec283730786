import { newOrderId, productIdOfOrder, isUuid } from "../../src/domain/order-id.ts";

test("an order id is a version-8 UUID that carries its product id", () => {
  for (const pid of [1, 42, 65535, 2_147_483_647, 0xffffffff]) {
    const id = newOrderId(pid);
    expect(isUuid(id)).toBe(true);
    expect(id[14]).toBe("8");
    expect(["8", "9", "a", "b"]).toContain(id[19]);
    expect(productIdOfOrder(id)).toBe(pid);
  }
});

test("ids made in the same millisecond for the same product differ, and sort by time", () => {
  const ids = Array.from({ length: 10_000 }, () => newOrderId(7, 1_800_000_000_000));
  expect(new Set(ids).size).toBe(ids.length);
  expect(newOrderId(7, 1_800_000_000_001) > newOrderId(7, 1_800_000_000_000)).toBe(true);
});

test("other UUIDs carry no product id", () => {
  expect(productIdOfOrder("5b0e3e1c-9b7a-4c1e-8f00-000000000001")).toBeNull();
  expect(productIdOfOrder("not-a-uuid")).toBeNull();
  expect(productIdOfOrder("00000000-0000-8000-8000-000000000000")).toBeNull();
});

test("a product id out of range is refused", () => {
  expect(() => newOrderId(0)).toThrow(RangeError);
  expect(() => newOrderId(2 ** 32)).toThrow(RangeError);
  expect(() => newOrderId(1.5)).toThrow(RangeError);
});
