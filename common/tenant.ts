/** Until auth exists every request acts for this one tenant; every registry row still records it. */
export const DEFAULT_TENANT = 'default';
