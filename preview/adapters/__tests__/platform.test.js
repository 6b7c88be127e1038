import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ShowToastEvent, SHOW_TOAST_EVENT_NAME } from '../platformShowToastEvent.js';
import { NavigationMixin, CurrentPageReference, navigations } from '../navigation.js';
import { schemaReference } from '../schema.js';

test('ShowToastEvent is the bubbling, composed lightning__showtoast event', () => {
    const event = new ShowToastEvent({
        title: 'Field mappings saved',
        message: '16 field mappings',
        variant: 'success'
    });
    assert.equal(event.type, SHOW_TOAST_EVENT_NAME);
    assert.equal(event.type, 'lightning__showtoast');
    assert.equal(event.bubbles, true);
    assert.equal(event.composed, true);
    assert.deepEqual(
        { ...event.detail, messageData: undefined },
        {
            title: 'Field mappings saved',
            message: '16 field mappings',
            variant: 'success',
            mode: 'dismissible',
            messageData: undefined
        }
    );
    assert.equal(new ShowToastEvent({ title: 'x' }).detail.variant, 'info');
});

test('NavigationMixin.Navigate records the page reference', async () => {
    class Base {}
    const Component = NavigationMixin(Base);
    const component = new Component();
    assert.ok(component instanceof Base);
    const pageReference = {
        type: 'standard__objectPage',
        attributes: { objectApiName: 'QB_Sync_Log__c', actionName: 'list' },
        state: { filterName: 'All' }
    };
    component[NavigationMixin.Navigate](pageReference);
    assert.deepEqual(navigations.at(-1), { pageReference, replace: false });
    assert.equal(
        await component[NavigationMixin.GenerateUrl](pageReference),
        '#standard__objectPage/QB_Sync_Log__c/list'
    );
});

test('CurrentPageReference emits the QB Setup tab', () => {
    const emitted = [];
    const adapter = new CurrentPageReference((value) => emitted.push(value));
    adapter.connect();
    assert.equal(emitted[0].type, 'standard__navItemPage');
});

test('schema references are {objectApiName[, fieldApiName]}', () => {
    assert.deepEqual(schemaReference('QB_Sync_Log__c'), { objectApiName: 'QB_Sync_Log__c' });
    assert.deepEqual(schemaReference('QB_Company__c.Realm_Id__c'), {
        objectApiName: 'QB_Company__c',
        fieldApiName: 'Realm_Id__c'
    });
    assert.deepEqual(schemaReference('Account.Owner.Name'), {
        objectApiName: 'Account',
        fieldApiName: 'Owner.Name'
    });
    assert.throws(() => schemaReference(''), /Not a schema reference/);
});
