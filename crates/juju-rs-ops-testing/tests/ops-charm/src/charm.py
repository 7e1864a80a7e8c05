#!/usr/bin/env python3
"""A minimal ops charm that touches every hook tool family the emulator provides."""

import logging

import ops

logger = logging.getLogger(__name__)

SECRET_LABEL = 'fixture-secret'


class FixtureCharm(ops.CharmBase):
    _stored = ops.StoredState()

    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self._stored.set_default(events=0)
        for event in (
            self.on.install,
            self.on.config_changed,
            self.on.leader_elected,
            self.on.update_status,
        ):
            framework.observe(event, self._reconcile)
        framework.observe(self.on.db_relation_changed, self._on_db_changed)
        framework.observe(self.on.db_relation_broken, self._on_db_broken)
        framework.observe(self.on.secret_changed, self._on_secret_changed)
        framework.observe(self.on.greet_action, self._on_greet)
        framework.observe(self.on.explode_action, self._on_explode)

    def _reconcile(self, event: ops.EventBase):
        self._stored.events += 1
        logger.info('reconciling on %s (event %d)', type(event).__name__, self._stored.events)
        # Reading statuses and the planned units makes ops parse status-get and goal-state.
        logger.info('previous unit status: %s %r', self.unit.status.name, self.unit.status.message)
        if self.unit.is_leader():
            app_status = self.app.status
            logger.info('previous app status: %s %r', app_status.name, app_status.message)
        logger.info('planned units: %d', self.app.planned_units())
        self.unit.set_workload_version('1.2.3')
        self.unit.set_ports(self.config['port'])
        if self.unit.is_leader():
            secret = self._secret()
            self.app.status = ops.ActiveStatus(f'secret {secret.get_content()["token"]}')
        if self.config['blocked']:
            self.unit.status = ops.BlockedStatus('blocked by config')
        else:
            self.unit.status = ops.ActiveStatus(self.config['greeting'])

    def _secret(self) -> ops.Secret:
        """The app secret, created on first use (leader only)."""
        try:
            return self.model.get_secret(label=SECRET_LABEL)
        except ops.SecretNotFoundError:
            return self.app.add_secret({'token': 'abc123'}, label=SECRET_LABEL)

    def _on_db_changed(self, event: ops.RelationChangedEvent):
        database = event.relation.data[event.relation.app].get('database')
        hosts = sorted(
            event.relation.data[unit].get('host', '?') for unit in event.relation.units
        )
        event.relation.data[self.unit]['seen'] = f'{database}@{",".join(hosts)}'
        network = self.model.get_binding(event.relation).network
        event.relation.data[self.unit]['address'] = str(network.ingress_address)
        password_secret = event.relation.data[event.relation.app].get('password-secret')
        if password_secret:
            # A consumer: reading it with a label starts tracking its current revision.
            password = self.model.get_secret(id=password_secret, label='db-password')
            event.relation.data[self.unit]['password'] = password.get_content()['password']
        if self.unit.is_leader():
            secret = self._secret()
            secret.grant(event.relation)
            event.relation.data[self.app].update(
                {'requested-database': 'fixture-db', 'secret-id': secret.id or ''}
            )
        if database is None:
            self.unit.status = ops.WaitingStatus('waiting for database')
        else:
            self.unit.status = ops.ActiveStatus(f'using {database}')

    def _on_secret_changed(self, event: ops.SecretChangedEvent):
        if event.secret.label != 'db-password':
            return
        content = event.secret.get_content(refresh=True)
        for relation in self.model.relations['db']:
            relation.data[self.unit]['password'] = content['password']

    def _on_db_broken(self, event: ops.RelationBrokenEvent):
        self.unit.status = ops.BlockedStatus('database relation removed')

    def _on_greet(self, event: ops.ActionEvent):
        name = event.params['name']
        event.log(f'greeting {name}')
        greeting = f'{self.config["greeting"]}, {name}!'
        event.set_results({'greeting': greeting, 'detail': {'length': len(greeting)}})

    def _on_explode(self, event: ops.ActionEvent):
        event.log('about to fail')
        event.fail('kaboom: the explode action always fails')


if __name__ == '__main__':
    ops.main(FixtureCharm)
