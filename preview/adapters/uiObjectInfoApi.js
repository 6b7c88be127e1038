import { requestJson } from './transport.js';

function objectApiNameOf(value) {
    return typeof value === 'object' && value !== null
        ? value.objectApiName
        : value;
}

/**
 * `getObjectInfo` of `lightning/uiObjectInfoApi` as a wire adapter: for config
 * `{objectApiName}` (a string or a `@salesforce/schema` object reference) it
 * emits `{data, error}` with the UI API ObjectInfo from
 * `/ui-api/object-info/<Object>`. No objectApiName yet (a `$`-bound property
 * still undefined) emits nothing, as LDS does.
 */
export class getObjectInfo {
    constructor(dataCallback) {
        this.dataCallback = dataCallback;
        this.connected = false;
        this.objectApiName = undefined;
    }

    connect() {
        this.connected = true;
        this.load();
    }

    disconnect() {
        this.connected = false;
    }

    update(config) {
        const objectApiName = objectApiNameOf(config?.objectApiName);
        if (objectApiName !== this.objectApiName) {
            this.objectApiName = objectApiName;
            this.load();
        }
    }

    async load() {
        const objectApiName = this.objectApiName;
        if (!this.connected || !objectApiName) {
            return;
        }
        let result;
        try {
            const data = await requestJson(
                'GET',
                `/ui-api/object-info/${encodeURIComponent(objectApiName)}`
            );
            result = { data, error: undefined };
        } catch (error) {
            result = { data: undefined, error };
        }
        // A later config wins: drop the answer for a name no longer asked for.
        if (this.connected && this.objectApiName === objectApiName) {
            this.dataCallback(result);
        }
    }
}
