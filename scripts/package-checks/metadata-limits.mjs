// The limits a deploy enforces and the Metadata API schema (XSD) cannot express: lengths of labels,
// descriptions, help text and error messages, API-name rules, text field lengths and picklist values.
// Each entry names the Salesforce page it comes from; documented-limits.mjs applies the table.

const SOURCES = {
    permissionSet:
        'https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_permissionset.htm',
    customObject:
        'https://developer.salesforce.com/docs/atlas.en-us.api_meta.meta/api_meta/customobject.htm',
    customField:
        'https://developer.salesforce.com/docs/atlas.en-us.api_meta.meta/api_meta/customfield.htm',
    fieldAttributes:
        'https://help.salesforce.com/s/articleView?id=platform.custom_field_attributes.htm&type=5',
    fieldTypes:
        'https://help.salesforce.com/s/articleView?id=platform.custom_field_types.htm&type=5',
    picklistLimits:
        'https://help.salesforce.com/s/articleView?id=platform.picklist_limitations.htm&type=5',
    validationRule:
        'https://help.salesforce.com/s/articleView?id=platform.fields_validation_rules_fields.htm&type=5',
    listView:
        'https://developer.salesforce.com/docs/atlas.en-us.api_meta.meta/api_meta/meta_listview.htm',
    developerName:
        'https://developer.salesforce.com/docs/atlas.en-us.api_meta.meta/api_meta/meta_types_list.htm',
    // Field Reference pages: the lengths of each object's fields, as a deploy enforces them.
    report: 'https://developer.salesforce.com/docs/platform/field-reference/references/field-reference/salesforce-field-reference-report.html',
    reportType:
        'https://developer.salesforce.com/docs/platform/field-reference/references/field-reference/salesforce-field-reference-customreporttype.html',
    dashboard:
        'https://developer.salesforce.com/docs/atlas.en-us.190.0.sfFieldRef.meta/sfFieldRef/salesforce_field_reference_Dashboard.htm',
    folder: 'https://developer.salesforce.com/docs/platform/field-reference/references/field-reference/salesforce-field-reference-folder.html',
    lwcFolder:
        'https://developer.salesforce.com/docs/platform/lwc/guide/create-components-folder.html'
};

/**
 * The rule Salesforce states for every developer (API) name: only letters, digits and
 * underscores, beginning with a letter, not ending with an underscore, no two consecutive
 * underscores. Custom objects and fields are checked without their `__c` suffix.
 */
export const DEVELOPER_NAME_RULES = [
    {
        test: (name) => /^[A-Za-z0-9_]+$/.test(name),
        problem: 'may hold only letters, digits and underscores'
    },
    {
        test: (name) => /^[A-Za-z]/.test(name),
        problem: 'must begin with a letter'
    },
    {
        test: (name) => !name.endsWith('_'),
        problem: 'must not end with an underscore'
    },
    {
        test: (name) => !name.includes('__'),
        problem: 'must not contain two consecutive underscores'
    }
];

/** Lightning web component folders: the same, but beginning with a lowercase letter. */
export const COMPONENT_NAME_RULES = [
    ...DEVELOPER_NAME_RULES,
    {
        test: (name) => /^[a-z]/.test(name),
        problem: 'must begin with a lowercase letter'
    }
];

/**
 * One entry per metadata type: how its source files end, the longest API name, the longest
 * value of each text element (top-level elements of the file), and where those limits are written.
 */
export const METADATA_TYPES = [
    {
        type: 'PermissionSet',
        suffix: '.permissionset-meta.xml',
        nameLength: 80,
        text: { label: 80, description: 255 },
        source: SOURCES.permissionSet
    },
    {
        type: 'CustomObject',
        suffix: '.object-meta.xml',
        customSuffix: '__c',
        nameLength: 40,
        text: { label: 40, pluralLabel: 40, description: 1000 },
        source: SOURCES.customObject
    },
    {
        type: 'CustomField',
        suffix: '.field-meta.xml',
        customSuffix: '__c',
        nameLength: 40,
        text: { label: 40, description: 1000, inlineHelpText: 510 },
        source: `${SOURCES.customField} and ${SOURCES.fieldAttributes}`
    },
    {
        type: 'ValidationRule',
        suffix: '.validationRule-meta.xml',
        nameLength: 40,
        text: { description: 255, errorMessage: 255 },
        source: SOURCES.validationRule
    },
    {
        type: 'ListView',
        suffix: '.listView-meta.xml',
        nameLength: 40,
        text: { label: 40 },
        source: SOURCES.listView
    },
    // Report: Name (the report's label) 40, DeveloperName 80, Description 255.
    {
        type: 'Report',
        suffix: '.report-meta.xml',
        nameLength: 80,
        text: { name: 40, description: 255 },
        source: SOURCES.report
    },
    // CustomReportType: DeveloperName 80, MasterLabel 255, Description 1000.
    {
        type: 'ReportType',
        suffix: '.reportType-meta.xml',
        nameLength: 80,
        text: { label: 255, description: 1000 },
        source: SOURCES.reportType
    },
    // Dashboard: DeveloperName 80, Title 80, Description 255.
    {
        type: 'Dashboard',
        suffix: '.dashboard-meta.xml',
        nameLength: 80,
        text: { title: 80, description: 255 },
        source: SOURCES.dashboard
    },
    // Folder (of reports or dashboards): DeveloperName 80, Name 40.
    {
        type: 'ReportFolder',
        suffix: '.reportFolder-meta.xml',
        nameLength: 80,
        text: { name: 40 },
        source: SOURCES.folder
    },
    {
        type: 'DashboardFolder',
        suffix: '.dashboardFolder-meta.xml',
        nameLength: 80,
        text: { name: 40 },
        source: SOURCES.folder
    },
    // Types whose names follow the developer-name rules; their lengths are not checked here.
    {
        type: 'CustomApplication',
        suffix: '.app-meta.xml',
        text: {},
        source: SOURCES.developerName
    },
    {
        type: 'CustomTab',
        suffix: '.tab-meta.xml',
        // A custom object's tab is named after the object.
        customSuffix: '__c',
        text: {},
        source: SOURCES.developerName
    },
    {
        type: 'QuickAction',
        suffix: '.quickAction-meta.xml',
        // An object-specific action is named Object.Action: the rules apply to the action.
        objectPrefixed: true,
        text: {},
        source: SOURCES.developerName
    },
    {
        type: 'StaticResource',
        suffix: '.resource-meta.xml',
        text: {},
        source: SOURCES.developerName
    },
    {
        type: 'ExternalCredential',
        suffix: '.externalCredential-meta.xml',
        text: {},
        source: SOURCES.developerName
    },
    {
        type: 'NamedCredential',
        suffix: '.namedCredential-meta.xml',
        text: {},
        source: SOURCES.developerName
    },
    {
        type: 'LightningComponentBundle',
        suffix: '.js-meta.xml',
        componentFolder: true,
        text: {},
        source: SOURCES.lwcFolder
    }
];

/** CustomField `length` by field type: [shortest, longest]. */
export const FIELD_LENGTHS = {
    Text: [1, 255],
    EncryptedText: [1, 175],
    LongTextArea: [256, 131072]
};
export const FIELD_LENGTH_SOURCE = SOURCES.fieldTypes;

/** Number, Currency and Percent: at most 18 digits, of which `scale` after the point. */
export const NUMBER_TYPES = new Set(['Number', 'Currency', 'Percent']);
export const MAX_PRECISION = 18;

/** LongTextArea: 2 to 50 visible lines (fieldAttributes). */
export const VISIBLE_LINES = [2, 50];
export const VISIBLE_LINES_SOURCE = SOURCES.fieldAttributes;

/** Each picklist value's API name and label. */
export const PICKLIST_VALUE_LENGTH = 255;
export const PICKLIST_SOURCE = SOURCES.picklistLimits;
