/**
 * The return codes of the Lua scripts in ./lua, named: each script's header documents
 * its replies, and TypeScript reads a reply's first element only through these.
 */
export const ScriptCode = {
  /** reserveBatch-8.lua (each request's reply): {code, ...} */
  reserve: {
    RESERVED: 0,
    REPLAYED: 1,
    KEY_REUSED: 2,
    NOT_LOADED: 3,
    SALE_NOT_ACTIVE: 4,
    QTY_OVER_MAX: 5,
    USER_REQUIRED: 6,
    LIMIT_EXCEEDED: 7,
    SOLD_OUT: 8,
    INSUFFICIENT_STOCK: 9,
    ENTRY_INVALID: 10,
    ENTRY_REQUIRED: 11,
    ENTRY_USED: 12,
  },
  /** release-6.lua */
  release: { NOTHING_HELD: 0, RELEASED: 1, ANSWERED: 2 },
  /** commit-3.lua */
  commit: { NOTHING_HELD: 0, COMMITTED: 1 },
  /** load-6.lua */
  load: { ALREADY_THERE: 0, LOADED: 1 },
  /** restock-2.lua */
  restock: { APPLIED: 0, ALREADY_APPLIED: 1, DISAGREES: 2, NOT_LOADED: 3 },
  /** lineOpen-1.lua */
  lineOpen: { OPENED: 0, ALREADY_OPEN: 1 },
  /** lineJoin-4.lua */
  lineJoin: { JOINED: 0, HELD: 1, NOT_OPEN: 2, CLOSED: 3, NO_LINE: 4 },
  /** lineLeave-5.lua */
  lineLeave: { LEFT: 0, FINAL: 1, NO_TICKET: 2 },
  /** lineAdmit-6.lua */
  lineAdmit: { STEPPED: 0, STALE: 1, NO_LINE: 2 },
  /** lineRead-4.lua */
  lineRead: { READ: 0, NO_LINE: 1 },
} as const;

/** The code of a script's reply: its first element. */
export const replyCode = (reply: ArrayLike<unknown>): number => Number(reply[0]);
