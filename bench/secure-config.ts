/**
 * What both brokers of a compat tool's secure pair get inside <broker>: ActiveMQ's simple
 * authentication and an authorization map. Users: `system`/`manager` (admins), `app`/`apppw`
 * (users); anonymous clients are let in, in the group `anonymous`. Users own `USERS.>` (queues and
 * topics), anonymous clients may read `GUEST.>`, everything else is the admins'. The integration
 * test `stomp-authorization` runs against the same map.
 */
export const SECURE_XML = `<plugins>
  <simpleAuthenticationPlugin anonymousAccessAllowed="true">
    <users>
      <authenticationUser username="system" password="manager" groups="admins"/>
      <authenticationUser username="app" password="apppw" groups="users"/>
    </users>
  </simpleAuthenticationPlugin>
  <authorizationPlugin><map><authorizationMap>
    <authorizationEntries>
      <authorizationEntry queue=">" read="admins" write="admins" admin="admins"/>
      <authorizationEntry queue="USERS.>" read="users" write="users" admin="users"/>
      <authorizationEntry queue="GUEST.>" read="users,anonymous" write="users" admin="users"/>
      <authorizationEntry topic=">" read="admins" write="admins" admin="admins"/>
      <authorizationEntry topic="USERS.>" read="users" write="users" admin="users"/>
      <authorizationEntry topic="ActiveMQ.Advisory.>" read="admins,users,anonymous" write="admins,users,anonymous" admin="admins,users,anonymous"/>
    </authorizationEntries>
    <tempDestinationAuthorizationEntry>
      <tempDestinationAuthorizationEntry read="users" write="users" admin="users"/>
    </tempDestinationAuthorizationEntry>
  </authorizationMap></map></authorizationPlugin>
</plugins>`;
