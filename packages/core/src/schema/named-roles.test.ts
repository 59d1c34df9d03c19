import { describe, expect, it } from 'vitest';
import { rolesNamed } from './named-roles';

describe('rolesNamed', () => {
  it('reads grantees, policy roles, owners and schema authorizations, without built-in roles', () => {
    expect(
      rolesNamed(
        [
          'GRANT SELECT ON s.t TO app, "Report Ers" WITH GRANT OPTION',
          'REVOKE ALL ON s.t FROM PUBLIC',
          'CREATE POLICY p ON s.t FOR SELECT TO reader, current_user USING (true)',
          'CREATE POLICY q ON s.t USING (true)',
          'ALTER TABLE s.t OWNER TO owner_role',
          'CREATE SCHEMA s AUTHORIZATION "Admin"',
          'GRANT pg_read_all_data TO app',
          '-- OWNER TO ignored_in_comment\nSELECT 1',
        ],
        /^(public|current_user|session_user|current_role|pg_.*)$/i,
      ),
    ).toEqual(['Admin', 'Report Ers', 'app', 'owner_role', 'reader']);
  });
});
