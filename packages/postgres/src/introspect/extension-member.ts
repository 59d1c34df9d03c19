/** Not an extension's member: `(classid, objid)` has no `e` dependency (SQL expressions). */
export const notExtensionMember = (classid: string, objid: string) =>
  `not exists (select 1 from pg_depend member where member.classid = ${classid} and member.objid = ${objid} and member.deptype = 'e')`;
